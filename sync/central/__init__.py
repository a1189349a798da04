"""The central server's logic: enrolment, applying hub bundles, receipts, progress merged
across hubs, and reply bundles. Its web face is hub/central; nothing here imports hub or Flask."""

"""The hub's side of sync: what the hub records for central (models), building and applying
bundles (service, with packs and roster), talking to central over the network (central_client,
push, bandwidth, background), and the central key the hub trusts (central_pin). The formats
themselves are in `sync/`.
"""

#!/bin/bash -e
# pi-gen, inside the image: install the hub as on any Pi, but start nothing; it starts on the
# first boot. Nothing of the hub's data is made here, so every Pi flashed from the image makes
# its own identity key and secret on its first boot (and loads the sample library then).
cd /tmp/learnhub
# shellcheck source=/dev/null
. ./settings.env
wheels=(learnhub-*.whl)
args=(--wheel "${wheels[0]}" --country "$COUNTRY" --ssid "$SSID" --no-start)
if [ -n "$PASSWORD" ]; then
  args+=(--password "$PASSWORD")
fi
bash raspberrypi/install.sh "${args[@]}"
cd /
rm -rf /tmp/learnhub

#!/bin/bash -e
# pi-gen, on the build host: put the hub's wheel, the appliance files and the chosen settings
# (files/, made by raspberrypi/image/prepare.sh) where the chroot step finds them.
install -d "${ROOTFS_DIR}/tmp/learnhub"
cp -r files/. "${ROOTFS_DIR}/tmp/learnhub/"

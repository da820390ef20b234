#!/bin/sh
# /init of the test VM: mount the basics, load the modules in /etc/modules, run
# /test/run.sh, print its status for the host, power off.
export PATH=/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /run/netns /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs -o size=90% tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/netns
mount --make-rshared /
ln -s /proc/self/fd /dev/fd
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up
cd /test
sh /test/run.sh
echo "@@EXIT_STATUS=$?"
poweroff -f

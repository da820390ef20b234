# `files`: a service that keeps its data on the mirror (mounted by start).
# srrd starts it after `disk` and stops it before `disk`.
DEV := /dev/md10
DIR := /srv/files

.PHONY: activate deactivate start stop reload restart join leave failed status check

activate deactivate join leave reload failed:
	@:

# The first start on a new mirror makes the file system.
start:
	@mkdir -p $(DIR)
	@mountpoint -q $(DIR) || { blkid $(DEV) >/dev/null || mkfs.ext4 -q $(DEV); mount $(DEV) $(DIR); }

stop:
	@! mountpoint -q $(DIR) || umount $(DIR)

restart: stop start

status:
	@df -h $(DIR)

check:
	@mountpoint -q $(DIR) && touch $(DIR)/.check

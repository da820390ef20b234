# The `disk` resource: a network RAID-1 of every node's disk.
# srrd runs: make -s -f /etc/srrd/disk.mk TARGET (docs/primitives.md)
KIT := srrd-raid1 --config /etc/srrd/raid1.toml

.PHONY: activate deactivate start stop reload restart join leave failed status check

activate deactivate start stop join leave check status:
	@$(KIT) $@

# Nothing to reload; a restart of a disk is a stop and a start by srrd.
reload restart:
	@:

failed:
	@logger -t srrd "$(SRRD_SERVICE) failed on $(SRRD_NODE)"

# The `disk` resource: a network RAID-1 of every node's disk.
# srrd runs: make -s -f /etc/srrd/disk.mk TARGET (docs/primitives.md)
KIT := srrd-raid1 --config /etc/srrd/raid1.toml

.PHONY: activate deactivate start stop reload restart join leave failed status check

activate deactivate start stop join leave check status:
	@$(KIT) $@

# Nothing to reload; a restart of a disk is a stop and a start by srrd.
reload restart:
	@:

# A start that failed here (e.g. two nodes started at once and this one
# lost) leaves the peers attached and the export stopped: stop restores
# the passive node, whose disk the active node can then use again. Where
# the array runs (check does not answer 30, "not running here"), leave it.
failed:
	@logger -t srrd "$(SRRD_SERVICE) failed on $(SRRD_NODE)"
	@$(KIT) check >/dev/null 2>&1; [ $$? != 30 ] || $(KIT) stop

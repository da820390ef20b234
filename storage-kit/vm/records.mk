# `records` (test-only, docs/storage.md "End to end with srrd"): recordd
# keeps acknowledged records in a file on the `disk` mirror, which this
# service mounts. lib.sh fills in DEV and DIR for each node.
DEV := @DEV@
DIR := @DIR@
PID := $(SRRD_STATE_DIR)/recordd.pid
RUNNING := [ -s $(PID) ] && [ "$$(cat /proc/$$(cat $(PID))/comm 2>/dev/null)" = recordd ]

.PHONY: activate deactivate start stop reload restart join leave failed status check

activate deactivate join leave reload failed:
	@:

# The first start on a new mirror makes the file system.
start:
	@mkdir -p $(DIR)
	@mountpoint -q $(DIR) || { blkid $(DEV) >/dev/null || mkfs.ext4 -q $(DEV); mount $(DEV) $(DIR); }
	@$(RUNNING) || { setsid recordd serve 0.0.0.0:7000 $(DIR)/records </dev/null >>$(SRRD_STATE_DIR)/recordd.log 2>&1 & echo $$! >$(PID); }

stop:
	@! $(RUNNING) || kill $$(cat $(PID))
	@rm -f $(PID)
	@n=0; while mountpoint -q $(DIR) && ! umount $(DIR) 2>/dev/null; do n=$$((n+1)); [ $$n -lt 50 ] || exit 3; sleep 0.1; done

restart: stop start

status:
	@df -h $(DIR)

check:
	@mountpoint -q $(DIR) && $(RUNNING)

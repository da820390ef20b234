# Example primitives for a tiny HTTP service bound to its VIP.
# srrd runs `make -s -f web.mk TARGET` with SRRD_* variables set
# (docs/primitives.md). Every target must exist; no-ops are fine.
PIDFILE = $(SRRD_STATE_DIR)/server.pid
.PHONY: activate deactivate start stop reload restart join leave failed status check

activate deactivate reload join leave:
	@true

start:
	@python3 -m http.server 80 --bind $(firstword $(SRRD_ADDRESSES)) >/dev/null 2>&1 & echo $$! > $(PIDFILE)

stop:
	@[ -f $(PIDFILE) ] && kill $$(cat $(PIDFILE)) 2>/dev/null; rm -f $(PIDFILE)

restart: stop start

failed:
	@logger -t srrd "service $(SRRD_SERVICE) failed on $(SRRD_NODE)"

status:
	@[ -f $(PIDFILE) ] && ps -o pid,etime,cmd -p $$(cat $(PIDFILE)) || echo "not running"

check:
	@[ -f $(PIDFILE) ] && kill -0 $$(cat $(PIDFILE))

# The sandbox of srrd.service and srrd-cleanup.service: the same lines as
# the "hardening" block of contrib/systemd/srrd.service (a packaging test
# compares them). srrd needs only CAP_NET_ADMIN (VIPs by netlink); what
# the service primitives need beyond this sandbox is the operator's to add
# (services.srrd.serviceConfig).
{
  CapabilityBoundingSet = "CAP_NET_ADMIN";
  NoNewPrivileges = true;
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  SystemCallArchitectures = "native";
  SystemCallFilter = "@system-service";
  RestrictAddressFamilies = "AF_UNIX AF_INET AF_INET6 AF_NETLINK";
  # The sysctls srrd sets for the stray packets of overlap moves (docs/vip.md).
  ReadWritePaths = "-/proc/sys/net/ipv4/conf -/proc/sys/net/netfilter";
  UMask = "0077";
}

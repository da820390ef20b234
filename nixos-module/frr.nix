# FRR configuration (integrated frr.conf lines) for one OSPF router of an
# srrd cluster, node or router alike, with the settings docs/frr.md
# explains: opaque LSAs, `timers lsa min-arrival 0`, fast hellos, fast SPF
# and optionally BFD. Builtins only, so it evaluates without nixpkgs.
# routerId: ospfd's router id. interfaces: where OSPF runs (fast hellos,
# and BFD, on each). networks: prefixes advertised in `area`, the node's
# LANs and its VIP range. priority: 0 on srrd nodes (never DR), a high
# value on the routers.
{ routerId
, interfaces
, networks
, area ? "0"
, priority ? 0
, passiveInterfaces ? [ ]
, bfd ? false
}:
let
  lines = builtins.concatStringsSep "\n";
  optionals = cond: list: if cond then list else [ ];
  interface = name: [
    "interface ${name}"
    " ip ospf priority ${toString priority}"
    " ip ospf dead-interval minimal hello-multiplier 4"
  ]
  ++ optionals bfd [
    " ip ospf bfd"
    " ip ospf bfd profile srrd"
  ]
  ++ [
    "exit"
    "!"
  ];
in
lines (
  optionals bfd [
    "bfd"
    " profile srrd"
    "  detect-multiplier 3"
    "  receive-interval 50"
    "  transmit-interval 50"
    " exit"
    "exit"
    "!"
  ]
  ++ builtins.concatMap interface interfaces
  ++ [
    "router ospf"
    " ospf router-id ${routerId}"
    " capability opaque"
    " log-adjacency-changes detail"
    " timers throttle spf 0 50 500"
    " timers throttle lsa all 0"
    " timers lsa min-arrival 0"
  ]
  ++ map (name: " passive-interface ${name}") passiveInterfaces
  ++ map (prefix: " network ${prefix} area ${area}") networks
  ++ [
    "exit"
    ""
  ]
)

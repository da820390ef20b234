# The NixOS VM test of services.srrd (needs a machine with nixpkgs:
# `nix build .#checks.x86_64-linux.failover` or
# `nix-build -A tests.failover`; docs/install.md). The topology of
# docs/frr.md: n1 and n2 on LAN A, n3 on LAN B, the router r1 between them
# and the client on its own LAN. The web service runs on n1 (highest
# preference); n1 crashes, and its VIP answers from n3 on the other subnet.
#
#   n1, n2 --vlan 1-- r1 --vlan 2-- n3
#                     |
#                  vlan 3 -- client
{ lib, ... }:
let
  vip = "192.0.2.10";
  lanA = "198.51.100";
  lanB = "203.0.113";
  clients = "198.18.0";

  address = prefix: host: {
    address = "${prefix}.${toString host}";
    prefixLength = 24;
  };

  node =
    { routerId
    , lan
    , host
    , preference
    }:
    { pkgs, ... }:
    {
      virtualisation.vlans = [ (if lan == lanA then 1 else 2) ];
      networking.useDHCP = false;
      networking.firewall.enable = true;
      networking.interfaces.eth1.ipv4.addresses = lib.mkForce [ (address lan host) ];
      services.srrd = {
        enable = true;
        openFirewall = true;
        frr = {
          inherit routerId;
          interfaces = [ "eth1" ];
          networks = [
            "${lan}.0/24"
            "192.0.2.0/24"
          ];
        };
        # web.mk serves HTTP on port 80 of the VIP.
        path = [ pkgs.python3 ];
        serviceConfig.CapabilityBoundingSet = "CAP_NET_ADMIN CAP_NET_BIND_SERVICE";
        settings = {
          node = {
            name = "n${toString (host - 10)}";
            router_id = routerId;
          };
          service = [
            {
              name = "web";
              kind = "service";
              addresses = [ vip ];
              inherit preference;
              check_interval = "1s";
              primitives = "${../../srrd/examples/web.mk}";
            }
          ];
        };
      };
      networking.firewall.allowedTCPPorts = [ 80 ];
    };
in
{
  name = "srrd-failover";

  nodes = {
    n1 = node {
      routerId = "10.255.0.11";
      lan = lanA;
      host = 11;
      preference = 200;
    };
    n2 = node {
      routerId = "10.255.0.12";
      lan = lanA;
      host = 12;
      preference = 100;
    };
    n3 = node {
      routerId = "10.255.0.13";
      lan = lanB;
      host = 13;
      preference = 150;
    };

    r1 =
      { ... }:
      {
        virtualisation.vlans = [
          1
          2
          3
        ];
        networking.useDHCP = false;
        networking.firewall.extraCommands = "iptables -A nixos-fw -p ospfigp -j nixos-fw-accept";
        networking.interfaces = {
          eth1.ipv4.addresses = lib.mkForce [ (address lanA 1) ];
          eth2.ipv4.addresses = lib.mkForce [ (address lanB 1) ];
          eth3.ipv4.addresses = lib.mkForce [ (address clients 1) ];
        };
        boot.kernel.sysctl."net.ipv4.ip_forward" = 1;
        services.frr = {
          ospfd.enable = true;
          config = import ../frr.nix {
            routerId = "10.255.0.1";
            interfaces = [
              "eth1"
              "eth2"
            ];
            priority = 255;
            passiveInterfaces = [ "eth3" ];
            networks = [
              "${lanA}.0/24"
              "${lanB}.0/24"
              "${clients}.0/24"
            ];
          };
        };
      };

    client =
      { pkgs, ... }:
      {
        virtualisation.vlans = [ 3 ];
        networking.useDHCP = false;
        networking.interfaces.eth1.ipv4.addresses = lib.mkForce [ (address clients 10) ];
        networking.defaultGateway = "${clients}.1";
        environment.systemPackages = [ pkgs.curl ];
      };
  };

  testScript = ''
    start_all()

    with subtest("srrd is up after FRR on every node"):
        for n in n1, n2, n3:
            n.wait_for_unit("frr.service")
            n.wait_for_unit("srrd.service")
            n.succeed("systemctl show -p Result srrd-cleanup.service | grep -q success")

    with subtest("the VIP is on n1 and answers the client across r1"):
        r1.wait_until_succeeds("vtysh -c 'show ip ospf neighbor' | grep -c Full | grep -qx 3")
        n1.wait_until_succeeds("ip -4 addr show dev lo | grep -q ${vip}")
        client.wait_until_succeeds("curl -sf --max-time 2 http://${vip}/ >/dev/null")
        n3.fail("ip -4 addr show dev lo | grep -q ${vip}")

    with subtest("the API port is closed to other hosts"):
        n1.succeed("nft list table inet srrd_ospfapi | grep -q 'tcp dport 2607'")
        n1.succeed("timeout 2 bash -c '</dev/tcp/127.0.0.1/2607'")
        r1.fail("timeout 2 bash -c '</dev/tcp/${lanA}.11/2607'")

    with subtest("n1 crashes: the VIP answers from n3 on the other subnet"):
        n1.crash()
        n3.wait_until_succeeds("ip -4 addr show dev lo | grep -q ${vip}", timeout=30)
        client.wait_until_succeeds("curl -sf --max-time 2 http://${vip}/ >/dev/null", timeout=30)
        r1.succeed("ip route show ${vip} | grep -q ${lanB}.13")
        n2.fail("ip -4 addr show dev lo | grep -q ${vip}")
  '';
}

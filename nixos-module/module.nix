# services.srrd: the srrd daemon on a NixOS node, with FRR's ospfd wired
# for it (docs/install.md, docs/frr.md).
{ config
, lib
, pkgs
, ...
}:
let
  cfg = config.services.srrd;
  settingsFormat = pkgs.formats.toml { };
  configPath = "/etc/srrd/srrd.toml";
  srrd = "${cfg.package}/bin/srrd";

  # The rendered settings, refused at build time unless
  # `srrd check-config` accepts them.
  configFile =
    pkgs.runCommand "srrd.toml"
      {
        nativeBuildInputs = [ cfg.package ];
        unchecked = settingsFormat.generate "srrd-unchecked.toml" cfg.settings;
      }
      ''
        cp "$unchecked" srrd.toml
        srrd check-config srrd.toml
        cp srrd.toml "$out"
      '';

  node = cfg.settings.node or { };
  stateDir = node.state_dir or "/var/lib/srrd";
  ospfApi = node.ospf_api or "127.0.0.1:2607";
  # The port of an "IP:PORT" or "[IPv6]:PORT" listen address.
  portOf = address: lib.toInt (lib.last (lib.splitString ":" address));
  web = cfg.settings.web or { };
  webPorts =
    lib.optional (node ? web_listen) (portOf node.web_listen)
    ++ lib.optional (web ? listen) (portOf web.listen);
  webFiles = lib.filterAttrs (_: p: p != null) cfg.web;
  # Key and certificate paths as they end up in the settings.
  secretPaths =
    lib.optional (node ? cluster_key_file) node.cluster_key_file
    ++ lib.attrValues (lib.filterAttrs (name: _: lib.elem name [ "cert" "key" "client_ca" ]) web);

  sandbox =
    import ./hardening.nix
    // {
      StateDirectory = "srrd";
      StateDirectoryMode = "0700";
    }
    // cfg.serviceConfig;

  # What the primitives find on their PATH; srrd itself runs ip, bridge
  # and nft for the stray packets of overlap moves (docs/vip.md).
  path = with pkgs; [
    gnumake
    bash
    coreutils
    iproute2
    nftables
  ] ++ cfg.path;

  usesNftables = config.networking.nftables.enable;
  ospfApiRule = ''
    chain input {
      type filter hook input priority filter; policy accept;
      tcp dport 2607 iif != "lo" drop
    }
  '';
in
{
  options.services.srrd = {
    enable = lib.mkEnableOption "srrd, the Service Routing Redundancy Daemon";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The srrd package.";
    };

    settings = lib.mkOption {
      type = settingsFormat.type;
      default = { };
      example = builtins.fromTOML (builtins.readFile ../contrib/srrd.toml.example);
      description = ''
        srrd's configuration (docs/configuration.md), rendered as TOML to
        /etc/srrd/srrd.toml and checked by `srrd check-config` when the
        system is built.
      '';
    };

    clusterKeyFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/run/keys/srrd-cluster.key";
      description = ''
        The cluster HMAC key (at least 16 random bytes, the same on every
        node). A path as a string, so the key never enters the Nix store.
      '';
    };

    web = lib.mkOption {
      type = lib.types.submodule {
        options = lib.genAttrs [ "cert" "key" "client_ca" ] (
          name:
          lib.mkOption {
            type = lib.types.nullOr lib.types.str;
            default = null;
            description = "Path of the HTTPS ${name} file, set as `web.${name}`; never copied into the store.";
          }
        );
      };
      default = { };
      description = "Certificate paths of srrd's HTTPS interface (the `[web]` table).";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open OSPF (IP protocol 89), the port of `node.web_listen` and VXLAN (UDP 4789, stray packets of overlap moves) in the firewall.";
    };

    ospfApiFirewall = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Drop TCP 2607 (ospfd's unauthenticated OSPF API server) from
        everything but lo (docs/frr.md).
      '';
    };

    path = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.python3 ]";
      description = "Packages on the PATH of the service primitives, besides make, bash, coreutils and iproute2.";
    };

    serviceConfig = lib.mkOption {
      type = lib.types.attrsOf lib.types.unspecified;
      default = { };
      example = {
        CapabilityBoundingSet = "CAP_NET_ADMIN CAP_SYS_ADMIN";
        PrivateDevices = false;
      };
      description = ''
        Overrides of the sandbox of srrd and its cleanup: what the service
        primitives need beyond CAP_NET_ADMIN (mounts, devices, ...).
      '';
    };

    frr = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        description = "Configure services.frr for srrd: ospfd with its API server and the settings of docs/frr.md.";
      };
      routerId = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "10.255.0.11";
        description = "ospfd's router id: the node's identity in the cluster.";
      };
      interfaces = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "eth1" ];
        description = "Interfaces OSPF runs on (fast hellos, priority 0).";
      };
      networks = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [
          "198.51.100.0/24"
          "192.0.2.0/24"
        ];
        description = "Prefixes advertised in the area: the node's LANs and the VIP range.";
      };
      area = lib.mkOption {
        type = lib.types.str;
        default = "0";
        description = "The OSPF area.";
      };
      bfd = lib.mkEnableOption "BFD (50 ms x 3) on the OSPF interfaces";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = !cfg.frr.enable || cfg.frr.routerId != null;
            message = "services.srrd.frr.routerId must be set: srrd uses the router id as the node's identity.";
          }
          {
            assertion = !cfg.frr.enable || cfg.frr.networks != [ ];
            message = "services.srrd.frr.networks must list the node's LANs and its VIP range.";
          }
          {
            assertion = !(node ? router_id) || !cfg.frr.enable || node.router_id == cfg.frr.routerId;
            message = "services.srrd.settings.node.router_id differs from services.srrd.frr.routerId.";
          }
          {
            assertion = !cfg.ospfApiFirewall || lib.hasPrefix "127.0.0.1:" ospfApi;
            message = "services.srrd.settings.node.ospf_api must be on 127.0.0.1 while ospfApiFirewall drops TCP 2607 from everything but lo.";
          }
          {
            assertion = stateDir == "/var/lib/srrd";
            message = "services.srrd.settings.node.state_dir must be /var/lib/srrd, the unit's StateDirectory.";
          }
          {
            assertion = lib.all (p: lib.isString p && !lib.hasPrefix builtins.storeDir p) secretPaths;
            message = "services.srrd: key and certificate paths must be strings outside the Nix store, which every user can read.";
          }
        ];
        # Stray packets of overlap moves (docs/vip.md): the unit can load no
        # module, and /proc/sys/net/netfilter must exist when it starts.
        boot.kernelModules = [
          "vxlan"
          "nf_conntrack"
        ];

        services.srrd.settings = lib.mkMerge [
          (lib.mkIf (cfg.clusterKeyFile != null) { node.cluster_key_file = cfg.clusterKeyFile; })
          (lib.mkIf (webFiles != { }) { web = webFiles; })
        ];

        environment.etc."srrd/srrd.toml".source = configFile;
        environment.systemPackages = [ cfg.package ];

        # Started after FRR, so stopped before it: FRR 8.4's ospfd aborts
        # on SIGTERM while srrd is registered (docs/frr.md).
        systemd.services.srrd = {
          description = "Service Routing Redundancy Daemon";
          after = [
            "frr.service"
            "srrd-cleanup.service"
          ];
          bindsTo = [ "frr.service" ];
          partOf = [ "frr.service" ];
          wantedBy = [
            "multi-user.target"
            "frr.service"
          ];
          inherit path;
          reloadTriggers = [ configFile ];
          serviceConfig = sandbox // {
            Type = "notify";
            NotifyAccess = "main";
            # `srrd run` cleans up what an earlier run left (adopting what
            # still runs after an unclean exit) before it opens the OSPF
            # API session (docs/operating.md). No cleanup after an exit.
            ExecStart = "${srrd} run --config ${configPath}";
            TimeoutStartSec = 300;
            ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
            WatchdogSec = "30s";
            Restart = "on-failure";
            # Well within node.restart_grace: the next run adopts what
            # still runs, so a crash costs no failover (docs/operating.md).
            RestartSec = "200ms";
            # SIGUSR2: srrd exits 75 leaving its services running; the new
            # binary starts at once and adopts them (docs/operating.md).
            RestartForceExitStatus = "75";
            SuccessExitStatus = "75";
            # SIGTERM to srrd alone: it stops its services in dependency
            # order; what is left of the group then gets SIGKILL.
            KillMode = "mixed";
            TimeoutStopSec = 300;
          };
        };

        # Before FRR starts, what an earlier srrd left (VIPs, services) is
        # removed, so ospfd never advertises a VIP nothing answers behind.
        systemd.services.srrd-cleanup = {
          description = "Clean up after an earlier srrd before FRR starts";
          before = [
            "frr.service"
            "srrd.service"
          ];
          wantedBy = [ "frr.service" ];
          inherit path;
          serviceConfig = sandbox // {
            Type = "oneshot";
            ExecStart = "${srrd} cleanup --config ${configPath}";
          };
        };
      }

      (lib.mkIf cfg.frr.enable {
        services.frr = {
          ospfd.enable = true;
          ospfd.extraOptions = [ "-a" ];
          bfdd.enable = cfg.frr.bfd;
          config = import ./frr.nix {
            inherit (cfg.frr)
              routerId
              interfaces
              networks
              area
              bfd
              ;
          };
        };
      })

      (lib.mkIf (cfg.ospfApiFirewall && usesNftables) {
        networking.nftables.tables.srrd_ospfapi = {
          family = "inet";
          content = ospfApiRule;
        };
      })

      # Without NixOS's nftables ruleset, the same rule is loaded on its
      # own before FRR starts, as on Debian.
      (lib.mkIf (cfg.ospfApiFirewall && !usesNftables) {
        systemd.services.srrd-ospfapi-firewall = {
          description = "Firewall ospfd's OSPF API port to loopback";
          before = [ "frr.service" ];
          after = [ "firewall.service" ];
          wantedBy = [ "frr.service" ];
          serviceConfig = {
            Type = "oneshot";
            ExecStart = "${pkgs.nftables}/bin/nft -f ${../contrib/srrd-ospfapi.nft}";
          };
        };
      })

      (lib.mkIf cfg.openFirewall {
        networking.firewall.allowedTCPPorts = webPorts;
        # VXLAN from the peers: stray packets of overlap moves (docs/vip.md).
        networking.firewall.allowedUDPPorts = [ 4789 ];
        networking.firewall.extraInputRules = lib.mkIf usesNftables "ip protocol 89 accept"; # OSPF
        networking.firewall.extraCommands = lib.mkIf (!usesNftables) "iptables -A nixos-fw -p ospfigp -j nixos-fw-accept";
      })
    ]
  );
}

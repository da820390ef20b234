# An OCI image for Nix users: srrd with FRR, nftables and tini
# (docs/install.md). Configured from mounted /etc/frr and /etc/srrd.
{ dockerTools
, srrd
, frr
, nftables
, iproute2
, tini
, bashInteractive
, coreutils
, gnumake
}:
dockerTools.buildLayeredImage {
  name = "srrd";
  tag = srrd.version;
  contents = [
    srrd
    frr
    nftables
    iproute2
    tini
    bashInteractive
    coreutils
    gnumake
  ];
  config = {
    Entrypoint = [
      "${tini}/bin/tini"
      "--"
    ];
    Cmd = [
      "${srrd}/bin/srrd"
      "--version"
    ];
    Labels."org.opencontainers.image.title" = "srrd";
  };
}

# srrd built from this repository's Cargo.lock.
{ lib, rustPlatform }:
let
  manifest = builtins.fromTOML (builtins.readFile ../srrd/Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "srrd";
  inherit (manifest.package) version;
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../srrd
      ../lab
    ];
  };
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [
    "-p"
    "srrd"
  ];
  # The tests need root, FRR and network namespaces: the VM test
  # (tests/failover.nix) runs srrd for real instead.
  doCheck = false;
  meta = {
    inherit (manifest.package) description;
    license = lib.licenses.gpl2Plus;
    mainProgram = "srrd";
    platforms = lib.platforms.linux;
  };
}

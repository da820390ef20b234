# srrd for Nix users without flakes (docs/install.md):
#   nix-build -A srrd; nix-build -A image; nix-build -A tests.failover
# and `imports = [ (import ./path/to/srrd { }).nixosModule ];`.
{ pkgs ? import <nixpkgs> { }
}:
rec {
  srrd = pkgs.callPackage ./nixos-module/package.nix { };
  image = pkgs.callPackage ./nixos-module/image.nix { inherit srrd; };
  nixosModule = ./nixos-module/module.nix;
  tests.failover = pkgs.testers.runNixOSTest ./nixos-module/tests/failover.nix;
}

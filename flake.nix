{
  description = "srrd: HA services that fail over across subnets by OSPF host routes";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs =
    { nixpkgs, ... }:
    let
      system = "x86_64-linux";
      built = import ./default.nix { pkgs = nixpkgs.legacyPackages.${system}; };
    in
    {
      packages.${system} = {
        inherit (built) srrd image;
        default = built.srrd;
      };
      nixosModules.default = built.nixosModule;
      checks.${system}.failover = built.tests.failover;
    };
}

//! The test VM (docs/storage.md, "Tests"): Debian's kernel and the storage
//! tools from their .deb packages (downloaded with `apt-get download`,
//! unpacked, never installed on the host), an initramfs built here from
//! them and host binaries, booted under QEMU. The kit's real binary runs in
//! network namespaces inside the VM.

mod cpio;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One VM at a time: the machine is small and TCG is CPU-bound.
static ONE_VM: Mutex<()> = Mutex::new(());

const PACKAGES: [&str; 4] = ["mdadm", "nbd-server", "nbd-client", "busybox-static"];
/// Loaded in this order by /init (dependencies first).
const MODULES: [(&str, &str); 11] = [
    ("md-mod", "drivers/md/md-mod.ko"),
    ("raid1", "drivers/md/raid1.ko"),
    ("nbd", "drivers/block/nbd.ko"),
    ("loop", "drivers/block/loop.ko"),
    ("veth", "drivers/net/veth.ko"),
    ("crc32c_generic", "crypto/crc32c_generic.ko"),
    ("crc16", "lib/crc16.ko"),
    ("mbcache", "fs/mbcache.ko"),
    ("jbd2", "fs/jbd2/jbd2.ko"),
    ("ext4", "fs/ext4/ext4.ko"),
    ("dm-mod", "drivers/md/dm-mod.ko"),
];
/// Host programs the test scripts use, with their libraries.
const HOST_BINS: [&str; 19] = [
    "dash",
    "bash",
    "ip",
    "nsenter",
    "losetup",
    "mount",
    "umount",
    "dd",
    "cmp",
    "timeout",
    "blockdev",
    "logger",
    "mkfs.ext4",
    "mountpoint",
    "make",
    "blkid",
    "fsfreeze",
    "setsid",
    "dmsetup",
];
/// FRR's daemons, from the host's frr package (/usr/lib/frr).
const FRR_DAEMONS: [&str; 2] = ["zebra", "ospfd"];
const APPLETS: [&str; 43] = [
    "insmod",
    "poweroff",
    "sleep",
    "cat",
    "mkdir",
    "cp",
    "mv",
    "rm",
    "ls",
    "ps",
    "kill",
    "sha256sum",
    "head",
    "tail",
    "grep",
    "sed",
    "awk",
    "seq",
    "wc",
    "tr",
    "cut",
    "date",
    "dmesg",
    "sync",
    "sort",
    "xargs",
    "printf",
    "test",
    "true",
    "false",
    "od",
    "stat",
    "truncate",
    "tee",
    "ln",
    "chmod",
    "env",
    "expr",
    "pidof",
    "uptime",
    "hexdump",
    "echo",
    "chown",
];

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("storage-vm")
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn which(bin: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p;
        }
    }
    panic!("{bin} is not installed on the host (see .ci/run)");
}

/// The kernel package `linux-image-amd64` points at today.
fn kernel_package() -> String {
    let deps = sh(Command::new("apt-cache").args(["depends", "linux-image-amd64"]));
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .expect("linux-image-amd64 depends on a linux-image-* package")
        .to_owned()
}

/// Downloads and unpacks the packages once; returns the unpacked root.
fn unpacked() -> PathBuf {
    let root = cache().join("root");
    if root.join("done").exists() {
        return root;
    }
    let debs = cache().join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let kernel = kernel_package();
    let mut pkgs = vec![kernel.as_str()];
    pkgs.extend(PACKAGES);
    sh(Command::new("apt-get")
        .arg("download")
        .args(&pkgs)
        .current_dir(&debs));
    for deb in std::fs::read_dir(&debs).unwrap() {
        let deb = deb.unwrap().path();
        sh(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    }
    std::fs::write(root.join("done"), kernel).unwrap();
    root
}

/// The uncompressed kernel: QEMU boots it through its PVH entry, which
/// skips the decompressor (slow under TCG).
fn vmlinux(root: &Path) -> PathBuf {
    let out = cache().join("vmlinux");
    if out.exists() {
        return out;
    }
    let boot = root.join("boot");
    let bz = std::fs::read_dir(&boot)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz-")
        })
        .expect("vmlinuz in the kernel package");
    let bytes = std::fs::read(&bz).unwrap();
    let magic = [0xfd, b'7', b'z', b'X', b'Z', 0];
    let at = bytes
        .windows(6)
        .position(|w| w == magic)
        .expect("xz stream in the bzImage");
    let mut xz = Command::new("xz")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("xz");
    let mut stdin = xz.stdin.take().unwrap();
    let data = bytes[at..].to_vec();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        // xz stops reading at the end of its stream; the rest is padding.
        let _ = stdin.write_all(&data);
    });
    // xz complains about the bytes after the stream; the ELF is complete.
    let elf = xz.wait_with_output().unwrap().stdout;
    feeder.join().unwrap();
    assert!(
        elf.starts_with(b"\x7fELF"),
        "no ELF kernel in {}",
        bz.display()
    );
    std::fs::write(&out, elf).unwrap();
    out
}

/// Libraries a binary loads, by `ldd`.
fn libs(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("not found"),
        "{}: a library is missing on the host (see .ci/run):\n{text}",
        bin.display()
    );
    text.lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|t| t.starts_with('/'))
                .map(PathBuf::from)
        })
        .collect()
}

/// Where a host path lives in the image, whose /lib and /lib64 point into /usr.
fn in_image(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.starts_with("/lib/") || s.starts_with("/lib64/") {
        format!("/usr{s}")
    } else {
        s.into_owned()
    }
}

fn add_with_libs(c: &mut cpio::Cpio, bin: &Path, name: &str, seen: &mut Vec<String>) {
    c.file(
        &format!("/usr/bin/{name}"),
        true,
        &std::fs::read(bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display())),
    );
    for lib in libs(bin) {
        let real = std::fs::canonicalize(&lib).unwrap_or(lib.clone());
        for p in [in_image(&lib), in_image(&real)] {
            // A library outside the base dirs (libfrr's frr/) needs its dir.
            let dir = Path::new(&p)
                .parent()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if dir != "/usr/lib/x86_64-linux-gnu" && !seen.contains(&dir) {
                c.dir(&dir);
                seen.push(dir);
            }
            if !seen.contains(&p) {
                c.file(&p, true, &std::fs::read(&real).unwrap());
                seen.push(p);
            }
        }
    }
}

/// The part of the initramfs that does not change between runs.
fn base(root: &Path) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    let init = Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/init.sh");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        HOST_BINS,
        FRR_DAEMONS,
        APPLETS,
        MODULES,
        std::fs::read(&init).unwrap(),
        // How the image is put together (e.g. a library's directory).
        include_str!("mod.rs"),
    )
        .hash(&mut h);
    let path = cache().join(format!("base-{:016x}.cpio", h.finish()));
    if let Ok(b) = std::fs::read(&path) {
        return b;
    }
    let mut c = cpio::Cpio::default();
    for d in [
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/dev",
        "/proc",
        "/sys",
        "/tmp",
        "/run",
        "/etc",
        "/var",
        "/mnt",
        "/test",
        "/lib",
    ] {
        if d != "/lib" {
            c.dir(d);
        }
    }
    c.symlink("/bin", "usr/bin");
    c.symlink("/sbin", "usr/bin");
    c.symlink("/usr/sbin", "bin");
    c.symlink("/lib64", "usr/lib64");
    c.dir("/usr/lib/modules");
    c.symlink("/lib", "usr/lib");
    let mut seen = vec![];
    for b in HOST_BINS {
        add_with_libs(&mut c, &which(b), b, &mut seen);
    }
    c.symlink("/usr/bin/sh", "dash");
    for d in FRR_DAEMONS {
        add_with_libs(&mut c, &Path::new("/usr/lib/frr").join(d), d, &mut seen);
    }
    for (name, rel) in [
        ("mdadm", "sbin/mdadm"),
        ("nbd-client", "sbin/nbd-client"),
        ("nbd-server", "bin/nbd-server"),
    ] {
        add_with_libs(&mut c, &root.join(rel), name, &mut seen);
    }
    c.file(
        "/usr/bin/busybox",
        true,
        &std::fs::read(root.join("bin/busybox")).unwrap(),
    );
    for a in APPLETS {
        c.symlink(&format!("/usr/bin/{a}"), "busybox");
    }
    let kdir = std::fs::read_dir(root.join("lib/modules"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for (name, rel) in MODULES {
        c.file(
            &format!("/usr/lib/modules/{name}.ko"),
            false,
            &std::fs::read(kdir.join("kernel").join(rel)).unwrap(),
        );
    }
    // FRR drops to the user frr, which must be in the group frrvty.
    c.file(
        "/etc/passwd",
        false,
        b"root:x:0:0:root:/root:/bin/sh\nfrr:x:102:106::/nonexistent:/bin/false\n",
    );
    c.file(
        "/etc/group",
        false,
        b"root:x:0:\nfrrvty:x:105:frr\nfrr:x:106:\n",
    );
    c.file("/init", true, &std::fs::read(init).unwrap());
    let mods: Vec<&str> = MODULES.iter().map(|(m, _)| *m).collect();
    c.file(
        "/etc/modules",
        false,
        format!("{}\n", mods.join("\n")).as_bytes(),
    );
    let b = c.finish();
    // Images built from older lists are of no further use.
    for old in std::fs::read_dir(cache()).unwrap().flatten() {
        let name = old.file_name().to_string_lossy().into_owned();
        if name.starts_with("base") && name.ends_with(".cpio") {
            let _ = std::fs::remove_file(old.path());
        }
    }
    std::fs::write(&path, &b).unwrap();
    b
}

/// A test-only program of vm/ (one std-only Rust file), built with the
/// toolchain at hand: the nbd-server shim, recordd.
fn built(source: &str, out: &str, crate_type: &str) -> PathBuf {
    let out = cache().join(out);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vm")
        .join(source);
    let fresh = |o: &Path| {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        modified(o) >= modified(&src)
    };
    if !fresh(&out) {
        sh(
            Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
                .args(["--edition", "2021", "--crate-type", crate_type, "-O", "-o"])
                .arg(&out)
                .arg(&src),
        );
    }
    out
}

/// srrd, as `cargo test --workspace` builds it next to this test
/// (`SRRD_BIN` overrides), without its debug info: the initramfs is copied
/// into the guest's memory.
fn srrd_binary() -> PathBuf {
    let bin = std::env::var_os("SRRD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("srrd")
        });
    assert!(
        bin.is_file(),
        "no srrd binary at {}: cargo build -p srrd (or set SRRD_BIN)",
        bin.display()
    );
    let out = cache().join("srrd");
    sh(Command::new("strip").arg("-o").arg(&out).arg(&bin));
    out
}

pub struct Run {
    pub status: i32,
    pub console: String,
    pub wall: Duration,
}

/// Boots the VM with `case` (a script in vm/cases/) as /test/run.sh and
/// vm/lib.sh next to it, with srrd and the test service recordd if `srrd`;
/// returns the script's exit status and the console.
pub fn run(case: &str, env: &[(&str, &str)], mem: &str, srrd: bool, timeout: Duration) -> Run {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    let qemu = which("qemu-system-x86_64");
    let root = unpacked();
    let kernel = vmlinux(&root);
    let mut initrd = base(&root);
    let mut c = cpio::Cpio::default();
    let vm = Path::new(env!("CARGO_MANIFEST_DIR")).join("vm");
    let mut vars = String::new();
    for (k, v) in env {
        vars.push_str(&format!("export {k}='{v}'\n"));
    }
    let script = std::fs::read_to_string(vm.join("cases").join(case)).unwrap();
    c.file(
        "/test/run.sh",
        true,
        format!("{vars}. /test/lib.sh\n{script}").as_bytes(),
    );
    c.file(
        "/test/lib.sh",
        false,
        &std::fs::read(vm.join("lib.sh")).unwrap(),
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/disk.mk");
    c.file("/test/disk.mk", false, &std::fs::read(example).unwrap());
    let kit = PathBuf::from(env!("CARGO_BIN_EXE_srrd-raid1"));
    let mut seen = vec![];
    add_with_libs(&mut c, &kit, "srrd-raid1", &mut seen);
    c.file(
        "/usr/lib/nbd-nodh.so",
        true,
        &std::fs::read(built("nbd-nodh.rs", "nbd-nodh.so", "cdylib")).unwrap(),
    );
    if srrd {
        add_with_libs(&mut c, &srrd_binary(), "srrd", &mut seen);
        let recordd = built("recordd.rs", "recordd", "bin");
        add_with_libs(&mut c, &recordd, "recordd", &mut seen);
        let records = vm.join("records.mk");
        c.file("/test/records.mk", false, &std::fs::read(records).unwrap());
    }
    c.file("/etc/ld.so.preload", false, b"/usr/lib/nbd-nodh.so\n");
    initrd.extend(c.finish());
    let dir = cache().join("runs");
    std::fs::create_dir_all(&dir).unwrap();
    let initrd_path = dir.join(format!("{case}.cpio"));
    std::fs::write(&initrd_path, initrd).unwrap();
    let log = dir.join(format!("{case}.console"));
    let started = Instant::now();
    let mut child = Command::new(qemu)
        .args(["-nodefaults", "-no-user-config", "-no-reboot", "-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max", "-machine", "pc"])
        .args(["-m", mem, "-smp", "2", "-display", "none", "-monitor", "none"])
        .arg("-chardev")
        .arg(format!("file,id=con0,path={}", log.display()))
        .args(["-serial", "chardev:con0", "-kernel"])
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd_path)
        .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off nokaslr tsc=reliable rdinit=/init"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64");
    let deadline = started + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let wall = started.elapsed();
    let _ = std::fs::remove_file(&initrd_path);
    let console = std::fs::read_to_string(&log).unwrap_or_default();
    let marker = console.lines().find_map(|l| {
        l.trim()
            .strip_prefix("@@EXIT_STATUS=")
            .and_then(|s| s.parse().ok())
    });
    let status = match (status, marker) {
        (_, Some(rc)) => rc,
        (None, None) => 124,
        (Some(_), None) => 125,
    };
    Run {
        status,
        console,
        wall,
    }
}

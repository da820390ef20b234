// Test-only service and client for the VM's srrd cases (docs/storage.md,
// "End to end with srrd"), std only, built with rustc like the nbd shim.
//
//   recordd serve ADDR FILE       append each received record to FILE,
//                                 fdatasync, then acknowledge it
//   recordd client ADDR ACKS      send records 1, 2, ... one at a time; append
//                                 "SEQ UPTIME" to ACKS for each acknowledgement;
//                                 reconnect on any error, until killed
//   recordd verify FILE ACKS      every acknowledged record is in FILE, intact
//
// A record is the line "SEQ PAYLOAD\n", its payload a function of SEQ.
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_millis(500);
const PAUSE: Duration = Duration::from_millis(20);

fn payload(seq: u64) -> String {
    let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..12)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:016x}", x)
        })
        .collect()
}

fn uptime() -> String {
    let text = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("0").to_owned()
}

fn serve(addr: &str, path: &str) {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    for conn in listener.incoming().flatten() {
        let path = path.to_owned();
        std::thread::spawn(move || {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let mut out = conn.try_clone().expect("socket");
            for line in BufReader::new(conn).lines() {
                let Ok(line) = line else { return };
                let seq = line.split(' ').next().unwrap_or("").to_owned();
                if file.write_all(format!("{line}\n").as_bytes()).is_err()
                    || file.sync_data().is_err()
                    || out.write_all(format!("ok {seq}\n").as_bytes()).is_err()
                {
                    return;
                }
            }
        });
    }
}

fn client(addr: &str, acks: &str) {
    let addr: SocketAddr = addr.parse().expect("ADDR is IP:PORT");
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(acks)
        .unwrap_or_else(|e| panic!("{acks}: {e}"));
    let mut seq = 1u64;
    loop {
        let Ok(conn) = TcpStream::connect_timeout(&addr, TIMEOUT) else {
            std::thread::sleep(PAUSE);
            continue;
        };
        conn.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        conn.set_nodelay(true).expect("nodelay");
        let mut out = conn.try_clone().expect("socket");
        let mut reader = BufReader::new(conn);
        loop {
            if out
                .write_all(format!("{seq} {}\n", payload(seq)).as_bytes())
                .is_err()
            {
                break;
            }
            let mut reply = String::new();
            match reader.read_line(&mut reply) {
                Ok(n) if n > 0 && reply.trim() == format!("ok {seq}") => {}
                _ => break,
            }
            writeln!(log, "{seq} {}", uptime()).expect("ack log");
            seq += 1;
            std::thread::sleep(PAUSE);
        }
    }
}

/// Prints the number of acknowledged records and exits 1 if one is missing
/// or damaged. Records sent again after a lost reply appear twice; a torn
/// record may only be the last line (written, never acknowledged).
fn verify(path: &str, acks: &str) {
    let acked: u64 = std::fs::read_to_string(acks)
        .unwrap_or_else(|e| panic!("{acks}: {e}"))
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0);
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = vec![false; acked as usize + 1];
    let mut bad = 0;
    for (i, line) in lines.iter().enumerate() {
        let good = line
            .split_once(' ')
            .and_then(|(s, p)| Some((s.parse::<u64>().ok()?, p)))
            .filter(|(s, p)| *p == payload(*s));
        match good {
            Some((s, _)) if s <= acked => seen[s as usize] = true,
            Some(_) => {}
            None if i + 1 == lines.len() => {}
            None => bad += 1,
        }
    }
    let missing = (1..=acked).filter(|s| !seen[*s as usize]).count();
    println!("acknowledged={acked} missing={missing} damaged={bad}");
    std::process::exit(if missing == 0 && bad == 0 { 0 } else { 1 });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[1..] {
        ["serve", addr, file] => serve(addr, file),
        ["client", addr, acks] => client(addr, acks),
        ["verify", file, acks] => verify(file, acks),
        _ => {
            eprintln!("usage: recordd serve ADDR FILE | client ADDR ACKS | verify FILE ACKS");
            std::process::exit(2);
        }
    }
}

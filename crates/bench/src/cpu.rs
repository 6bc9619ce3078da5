//! Where the CPU went during a run: user + system time of each service process, of
//! every PostgreSQL process together, and of the bench itself, from /proc. On two
//! cores shared by all of them, this is the profile that says what limits a figure.
use std::{collections::BTreeMap, time::Instant};

use crate::system::System;

/// CPU seconds consumed so far by each party.
pub struct CpuSnapshot {
    at: Instant,
    seconds: BTreeMap<String, f64>,
}

/// utime + stime of a process in seconds (fields 14 and 15 of /proc/<pid>/stat,
/// counted after the command name, which may hold spaces).
fn process_seconds(pid: &str) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let command = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((command, ticks / 100.0))
}

impl CpuSnapshot {
    pub fn take(system: &System) -> Self {
        let mut seconds = BTreeMap::new();
        for service in &system.services {
            if let Some((_, s)) = service.pid().and_then(|pid| process_seconds(&pid.to_string())) {
                seconds.insert(service.name.clone(), s);
            }
        }
        let postgres: f64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| process_seconds(entry.file_name().to_str()?))
            .filter(|(command, _)| command == "postgres")
            .map(|(_, s)| s)
            .sum();
        seconds.insert("postgres".into(), postgres);
        if let Some((_, s)) = process_seconds("self") {
            seconds.insert("bench client".into(), s);
        }
        Self { at: Instant::now(), seconds }
    }

    /// Each party's share of one core since `self`, busiest first, e.g.
    /// `postgres 120%, attribution 45%`.
    pub fn since(&self, system: &System) -> String {
        let now = Self::take(system);
        let wall = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let mut shares: Vec<(String, f64)> = now
            .seconds
            .iter()
            .map(|(name, s)| (name.clone(), (s - self.seconds.get(name).copied().unwrap_or(0.0)) / wall * 100.0))
            .filter(|(_, share)| *share >= 1.0)
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1));
        let parts: Vec<String> = shares.iter().map(|(name, share)| format!("{name} {share:.0}%")).collect();
        format!("CPU: {}", parts.join(", "))
    }
}

//! Real service binaries as child processes, for end-to-end tests, fault tests and
//! benchmarks: started with the same `XIAOPU_*` environment the Helm chart sets.
use std::{
    collections::BTreeMap,
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// The directory holding the workspace's binaries next to the running executable
/// (`target/<profile>`, also when running from `target/<profile>/deps`).
pub fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let mut dir = exe.parent().expect("executable directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A free loopback address (the port is released before the service binds it).
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// Starts `command` with its stderr in `log` (under `target/<profile>/logs/`) and its
/// stdout discarded.
pub fn spawn_logged(command: &mut Command, log: &std::path::Path) -> Child {
    std::fs::create_dir_all(binary_dir().join("logs")).expect("log directory");
    let log = std::fs::File::create(log).expect("log file");
    command.stdout(Stdio::null()).stderr(log).spawn().unwrap_or_else(|e| panic!("start {command:?}: {e}"))
}

/// One running service binary.
pub struct ServiceProcess {
    pub name: String,
    pub addr: SocketAddr,
    env: BTreeMap<String, String>,
    child: Option<Child>,
}

impl ServiceProcess {
    /// Starts `xiaopu-<name> serve` on a free port with `env` (plus the listen
    /// address), logging to `target/<profile>/logs/<name>-<port>.log`.
    pub fn start(name: &str, env: BTreeMap<String, String>) -> Self {
        let mut process = Self { name: name.into(), addr: free_addr(), env, child: None };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        let binary = binary_dir().join(format!("xiaopu-{}", self.name));
        assert!(binary.exists(), "{} is not built: build the workspace's binaries first", binary.display());
        let mut command = Command::new(binary);
        command.arg("serve").envs(&self.env).env("XIAOPU_SERVER__LISTEN_ADDR", self.addr.to_string());
        let child = spawn_logged(&mut command, &self.log_path());
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment it was started with (a replica starts with the same).
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// Where its log goes.
    pub fn log_path(&self) -> PathBuf {
        binary_dir().join("logs").join(format!("{}-{}.log", self.name, self.addr.port()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the health service says of the whole server now; None when it does not
    /// answer.
    pub async fn health(&self) -> Option<ServingStatus> {
        let channel = tonic::transport::Channel::from_shared(self.url()).ok()?.connect().await.ok()?;
        let answer = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.ok()?;
        Some(answer.into_inner().status())
    }

    /// Waits until the health service says `status`.
    pub async fn wait_health(&self, status: ServingStatus, patience: Duration) {
        let deadline = Instant::now() + patience;
        while self.health().await != Some(status) {
            assert!(Instant::now() < deadline, "{} did not become {status:?} within {patience:?}", self.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the process accepts connections (the web front: HTTP, no gRPC health).
    pub async fn wait_listening(&self, patience: Duration) {
        let deadline = Instant::now() + patience;
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            assert!(Instant::now() < deadline, "{} did not listen within {patience:?}", self.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the service reports SERVING (its database answers).
    pub async fn wait_serving(&self, patience: Duration) {
        self.wait_health(ServingStatus::Serving, patience).await;
    }

    /// SIGKILL: the process dies mid-whatever, as in a node failure.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the graceful exit; true when it exited cleanly. Async:
    /// the caller's own connections must keep being driven while the server drains.
    pub async fn terminate(&mut self, patience: Duration) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        let Ok(raw) = i32::try_from(child.id()) else { return false };
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Starts the same service again on the same port, after a kill.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Resident memory now and at its peak, in KiB (from /proc).
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

//! NATS servers with JetStream for tests: one node, or a cluster of three on loopback
//! ports, each with its data under `target/<profile>/nats/`. Debian's `nats-server`
//! (`make test` installs it when missing).
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command},
    time::Duration,
};

use super::{
    eventually,
    process::{binary_dir, free_addr, spawn_logged},
};

/// `nats-server` from `PATH`, or Debian's.
fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.exists());
    let binary = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    assert!(binary.exists(), "nats-server is not installed: `make test` installs Debian's nats-server package");
    binary
}

/// One `nats-server -js` process.
pub struct NatsNode {
    pub name: String,
    pub addr: SocketAddr,
    args: Vec<String>,
    child: Option<Child>,
}

impl NatsNode {
    fn start(name: &str, addr: SocketAddr, store: &std::path::Path, extra: Vec<String>) -> Self {
        let mut args = vec![
            "-js".to_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            addr.port().to_string(),
            "-n".into(),
            name.into(),
            "-sd".into(),
            store.join(name).display().to_string(),
        ];
        args.extend(extra);
        let mut node = Self { name: name.into(), addr, args, child: None };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let log = binary_dir().join("logs").join(format!("nats-{}-{}.log", self.name, self.addr.port()));
        let child = spawn_logged(Command::new(binary()).args(&self.args), &log);
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// SIGKILL, as a node failure.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again with its data, after a kill.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One node or a cluster, and where its data lives (removed when dropped).
pub struct Nats {
    pub nodes: Vec<NatsNode>,
    store: PathBuf,
}

impl Nats {
    /// One JetStream node on a free loopback port.
    pub async fn single() -> Self {
        let store = Self::store();
        let node = NatsNode::start("n1", free_addr(), &store, Vec::new());
        let nats = Self { nodes: vec![node], store };
        nats.wait_ready(1).await;
        nats
    }

    /// Three JetStream nodes routed to each other: streams with 3 replicas survive
    /// the loss of any one.
    pub async fn cluster() -> Self {
        let store = Self::store();
        let clients: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
        let routes: Vec<SocketAddr> = (0..3).map(|_| free_addr()).collect();
        let all_routes = routes.iter().map(|r| format!("nats://{r}")).collect::<Vec<_>>().join(",");
        let nodes = (0..3)
            .map(|i| {
                let extra = vec![
                    "--cluster_name".to_string(),
                    "xiaopu-test".into(),
                    "--cluster".into(),
                    format!("nats://{}", routes[i]),
                    "--routes".into(),
                    all_routes.clone(),
                ];
                NatsNode::start(&format!("n{}", i + 1), clients[i], &store, extra)
            })
            .collect();
        let nats = Self { nodes, store };
        nats.wait_ready(3).await;
        nats
    }

    fn store() -> PathBuf {
        let store = binary_dir().join("nats").join(uuid::Uuid::new_v4().simple().to_string());
        std::fs::create_dir_all(&store).expect("nats store");
        store
    }

    /// Every node's URL, comma-separated, as `feed.nats.url` takes them.
    pub fn url(&self) -> String {
        self.nodes.iter().map(NatsNode::url).collect::<Vec<_>>().join(",")
    }

    /// Every running node's address, for a client of the test's own.
    fn addrs(&self) -> Vec<async_nats::ServerAddr> {
        self.nodes.iter().filter(|n| n.child.is_some()).filter_map(|n| n.url().parse().ok()).collect()
    }

    /// The name of the node leading `stream`'s replicas, once it has one (after a
    /// node's loss the survivors elect a new one).
    pub async fn stream_leader(&self, stream: &str) -> String {
        eventually(&format!("{stream} has a leader"), Duration::from_secs(30), || async {
            let client = async_nats::connect(self.addrs()).await.ok()?;
            let js = async_nats::jetstream::new(client);
            let mut stream = js.get_stream(stream).await.ok()?;
            let info = stream.info().await.ok()?;
            info.cluster.as_ref().and_then(|c| c.leader.clone())
        })
        .await
    }

    /// The environment a service needs to use this NATS as its feed's transport.
    pub fn service_env(&self) -> Vec<(String, String)> {
        vec![
            ("XIAOPU_FEED__TRANSPORT".into(), "jetstream".into()),
            ("XIAOPU_FEED__NATS__URL".into(), self.url()),
            ("XIAOPU_FEED__NATS__STREAM_REPLICAS".into(), self.nodes.len().to_string()),
        ]
    }

    /// Waits until JetStream answers with a stream of `replicas` (a cluster has
    /// elected its meta leader), by creating and deleting one.
    async fn wait_ready(&self, replicas: usize) {
        eventually("JetStream answers", Duration::from_secs(30), || async {
            let client = async_nats::connect(self.addrs()).await.ok()?;
            let js = async_nats::jetstream::new(client);
            let config = async_nats::jetstream::stream::Config {
                name: "ready".into(),
                subjects: vec!["ready".into()],
                num_replicas: replicas,
                ..Default::default()
            };
            js.get_or_create_stream(config).await.ok()?;
            js.delete_stream("ready").await.ok()
        })
        .await;
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

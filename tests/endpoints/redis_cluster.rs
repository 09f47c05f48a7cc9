//! A real Redis Cluster of the test's own: three primaries on free ports of 127.0.0.1, no
//! replicas, every slot covered; it can be killed and started again, and takes its slots back.

use std::net::TcpListener;
use std::time::Duration;

use tokio::process::Command;

use crate::redis_server::RedisServer;
use crate::support::within;

/// How many primaries: Redis's smallest cluster.
const NODES: usize = 3;

pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, joins them into a cluster, and waits until it serves every slot.
    pub async fn start() -> Self {
        let mut nodes = Vec::with_capacity(NODES);
        for port in free_ports() {
            nodes.push(RedisServer::start_cluster_node(port).await);
        }
        let cluster = RedisCluster { nodes };
        let addresses = cluster
            .urls()
            .iter()
            .map(|url| url.trim_start_matches("redis://").to_owned())
            .collect::<Vec<_>>();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli (Debian's redis-tools, with redis-server)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.wait_until_serving().await;
        cluster
    }

    /// The nodes' `redis://127.0.0.1:port`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// How `redis-cli` reaches the cluster (through its first node, following redirections).
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["-c".to_owned()];
        args.extend(self.nodes[0].cli_args());
        args
    }

    /// Kills every node, as a power cut would.
    pub async fn kill(&mut self) {
        for node in &mut self.nodes {
            node.kill().await;
        }
    }

    /// Starts every node again, with no data but with its slots, and waits until the cluster
    /// serves every slot again.
    pub async fn restart(&mut self) {
        futures_util::future::join_all(self.nodes.iter_mut().map(RedisServer::restart)).await;
        self.wait_until_serving().await;
    }

    /// Waits until every node says the cluster is ok: only asking tells.
    async fn wait_until_serving(&self) {
        within("the Redis Cluster to serve every slot", async {
            for node in &self.nodes {
                loop {
                    let info = Command::new("redis-cli")
                        .args(node.cli_args())
                        .args(["cluster", "info"])
                        .output()
                        .await
                        .expect("redis-cli");
                    if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
        .await;
    }
}

/// Free ports whose cluster bus port (port + 10000) is free too; held together while chosen,
/// so that they differ.
fn free_ports() -> Vec<u16> {
    let mut held = Vec::with_capacity(NODES * 2);
    let mut ports = Vec::with_capacity(NODES);
    for _attempt in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        held.push(listener);
        let Some(bus) = port.checked_add(10000) else {
            continue;
        };
        if let Ok(bus_listener) = TcpListener::bind(("127.0.0.1", bus)) {
            held.push(bus_listener);
            ports.push(port);
            if ports.len() == NODES {
                return ports;
            }
        }
    }
    panic!("no {NODES} free pairs of ports on 127.0.0.1");
}

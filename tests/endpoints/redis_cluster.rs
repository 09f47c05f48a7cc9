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

    /// Moves the slot of `name` to another primary, as a resharding does (the slot holds no
    /// keys, so there are none to migrate): importing, migrating, then the new owner told to
    /// every node.
    pub async fn move_slot_of(&self, name: &str) {
        let slot = self.cli(0, &["cluster", "keyslot", name]).await;
        let slot = slot.trim().to_owned();
        let slot_number: u16 = slot.parse().expect("a slot");
        let nodes = self.cli(0, &["cluster", "nodes"]).await;
        let (mut owner, mut ids) = (None, vec![String::new(); NODES]);
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(index) = fields.get(1).and_then(|address| self.node_at(address)) else {
                continue;
            };
            ids[index] = fields[0].to_owned();
            if fields
                .iter()
                .skip(8)
                .any(|range| covers(range, slot_number))
            {
                owner = Some(index);
            }
        }
        let from = owner.expect("the slot's owner");
        let to = (from + 1) % NODES;
        self.cli(to, &["cluster", "setslot", &slot, "importing", &ids[from]])
            .await;
        self.cli(from, &["cluster", "setslot", &slot, "migrating", &ids[to]])
            .await;
        for node in [to, from, (to + 1) % NODES] {
            let set = ["cluster", "setslot", &slot, "node", &ids[to]];
            assert_eq!(self.cli(node, &set).await.trim(), "OK");
        }
    }

    /// Which of the nodes listens at `address` (`127.0.0.1:port@bus`).
    fn node_at(&self, address: &str) -> Option<usize> {
        let port: u16 = address.split(['@', ':']).nth(1)?.parse().ok()?;
        self.nodes
            .iter()
            .position(|node| node.cluster_port() == Some(port))
    }

    /// `redis-cli` on node `index`: what it printed.
    /// Runs `redis-cli <args>` on every node.
    pub async fn on_every_node(&self, args: &[&str]) {
        for index in 0..self.nodes.len() {
            self.cli(index, args).await;
        }
    }

    async fn cli(&self, index: usize, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(self.nodes[index].cli_args())
            .args(args)
            .output()
            .await
            .expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
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

/// Whether a slot range of `CLUSTER NODES` (`0-5460`, `42`) covers `slot`.
fn covers(range: &str, slot: u16) -> bool {
    let mut bounds = range.splitn(2, '-').map(str::parse::<u16>);
    match (bounds.next(), bounds.next()) {
        (Some(Ok(low)), Some(Ok(high))) => (low..=high).contains(&slot),
        (Some(Ok(only)), None) => only == slot,
        _ => false,
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

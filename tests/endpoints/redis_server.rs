//! A real `redis-server` of the test's own, on a Unix socket in a temporary folder, so tests
//! never share a server or collide on a port; it can be killed and started again on the same
//! socket. Or a node of a Redis Cluster of the test's own, which needs TCP (the nodes talk to
//! each other on port + 10000): on a free port of 127.0.0.1.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::within;

pub struct RedisServer {
    dir: PathBuf,
    /// The TCP port of a cluster node; none for a Unix socket's server.
    cluster_port: Option<u16>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a Unix socket and waits until it accepts connections.
    pub async fn start() -> Self {
        Self::start_on(None).await
    }

    /// Starts a Redis Cluster node, not yet in a cluster, on `port` of 127.0.0.1.
    pub async fn start_cluster_node(port: u16) -> Self {
        Self::start_on(Some(port)).await
    }

    async fn start_on(cluster_port: Option<u16>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "wsendpoint-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).expect("a folder for redis-server");
        let mut server = RedisServer {
            dir,
            cluster_port,
            child: None,
        };
        server.run().await;
        server
    }

    /// `redis+unix://` and the socket's path, or a cluster node's `redis://127.0.0.1:port`.
    pub fn url(&self) -> String {
        match self.cluster_port {
            Some(port) => format!("redis://127.0.0.1:{port}"),
            None => format!("redis+unix://{}", self.socket().display()),
        }
    }

    /// The port of a cluster node.
    pub fn cluster_port(&self) -> Option<u16> {
        self.cluster_port
    }

    /// How `redis-cli` reaches it.
    pub fn cli_args(&self) -> Vec<String> {
        match self.cluster_port {
            Some(port) => vec!["-p".into(), port.to_string()],
            None => vec!["-s".into(), self.socket().display().to_string()],
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Starts `redis-server` and waits until it says it is ready to accept connections.
    async fn run(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--save", "", "--appendonly", "no"]);
        command.arg("--dir").arg(&self.dir);
        match self.cluster_port {
            // Its cluster configuration (nodes.conf in its folder) survives a kill, so that a
            // restarted node takes its slots back.
            Some(port) => command
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]),
            None => command
                .args(["--port", "0", "--unixsocket"])
                .arg(self.socket()),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (scripts/test-all.sh installs Debian's redis-server)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        within("redis-server to start", async {
            while let Some(line) = lines.next_line().await.expect("redis-server output") {
                if line
                    .to_ascii_lowercase()
                    .contains("ready to accept connections")
                {
                    return;
                }
            }
            panic!("redis-server exited before it was ready");
        })
        .await;
        // Keep reading its output, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// Kills the server (as a crash would: no shutdown, nothing saved).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Starts the server again on the same socket or port, with no data (a cluster node keeps
    /// its configuration, and so its slots).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.run().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

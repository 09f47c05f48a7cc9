//! Many concurrent clients, each doing a round trip.

use wsendpoint::prelude::*;

use crate::support::{recv_text, send_text, within, TestServer};

#[derive(Default)]
struct Echo;

#[server_endpoint("/load/<id>")]
impl Echo {
    #[on_message]
    fn echo(&mut self, session: &Session, text: String) -> String {
        format!("{}:{text}", session.key())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_clients_each_get_their_own_reply() {
    const CLIENTS: usize = 500;
    let server = std::sync::Arc::new(TestServer::start().await);
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..CLIENTS {
        let server = server.clone();
        tasks.spawn(async move {
            let mut client = server.connect(&format!("/load/{id}")).await;
            send_text(&mut client, &format!("ping {id}")).await;
            let reply = recv_text(&mut client).await;
            within("the close", client.close(None))
                .await
                .expect("close");
            (id, reply)
        });
    }
    let mut replies = 0;
    while let Some(result) = within("the clients", tasks.join_next()).await {
        let (id, reply) = result.expect("client task");
        assert_eq!(reply, format!("{id}:ping {id}"));
        replies += 1;
    }
    assert_eq!(replies, CLIENTS);
    let server = std::sync::Arc::into_inner(server).expect("all clients done");
    let pool = server.hub.sessions::<Echo>();
    // Shutdown waits for every on_close, so the pool must be empty afterwards.
    server.stop().await;
    assert!(pool.is_empty(), "{} sessions left", pool.len());
}

//! The frames of `GET /api/v1/ws`: JSON text, one message a frame (docs/events.md,
//! "WebSocket").

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::events::Published;

/// What a connection can listen to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Every event of the account (office staff).
    Account,
    /// Visits and jobs as they are scheduled, moved, done or cancelled.
    Schedule,
    /// One job, its visits and invoices.
    Job(Uuid),
    /// One client and everything of theirs.
    Client(Uuid),
    /// What is addressed to one user (their notifications).
    User(Uuid),
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Account => f.write_str("account"),
            Topic::Schedule => f.write_str("schedule"),
            Topic::Job(id) => write!(f, "job:{id}"),
            Topic::Client(id) => write!(f, "client:{id}"),
            Topic::User(id) => write!(f, "user:{id}"),
        }
    }
}

impl FromStr for Topic {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        let id = |rest: &str| Uuid::try_parse(rest).map_err(|_| ());
        match text.split_once(':') {
            None if text == "account" => Ok(Topic::Account),
            None if text == "schedule" => Ok(Topic::Schedule),
            Some(("job", rest)) => id(rest).map(Topic::Job),
            Some(("client", rest)) => id(rest).map(Topic::Client),
            Some(("user", rest)) => id(rest).map(Topic::User),
            _ => Err(()),
        }
    }
}

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Inbound {
    /// Listen to `topics`; with `since`, first receive what they missed after that
    /// sequence number (a reconnect).
    Subscribe {
        topics: Vec<String>,
        #[serde(default)]
        since: Option<i64>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    Ping,
}

/// An event as a client receives it.
#[derive(Debug, Serialize)]
pub struct Envelope {
    /// The event's versioned name (`visit.scheduled`).
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// The subscription it arrived by; an event on two subscribed topics comes once
    /// for each (the same `id`).
    pub topic: String,
    /// Unique per event: `{account}:{seq}`.
    pub id: String,
    /// Its place in the account's order; resume from the last one seen.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who made the change (`{"user": id}`, `{"hub": id}`, `{"webhook": "stripe"}`,
    /// `{"system": "<queue>"}`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::platform::events::Actor>,
    pub data: serde_json::Value,
}

impl Envelope {
    pub fn frame(published: &Published, topic: &Topic) -> String {
        serde_json::to_string(&Envelope {
            type_: published.event.name(),
            topic: topic.to_string(),
            id: format!("{}:{}", published.account_id, published.seq),
            seq: published.seq,
            at: published.at,
            actor: published.actor.clone(),
            data: published.event.data(),
        })
        .unwrap_or_default()
    }
}

/// Control messages from the server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outbound {
    /// The connection is ready: who it is and the account's latest sequence number.
    Welcome {
        user_id: Uuid,
        role: String,
        seq: i64,
    },
    /// Now listening to `topics`; `seq` is the account's latest event.
    Subscribed {
        topics: Vec<String>,
        seq: i64,
    },
    Unsubscribed {
        topics: Vec<String>,
    },
    /// What the client saw is too old to bring up to date event by event (events
    /// are kept 7 days, and a resume replays at most a few thousand): reload the
    /// data of `topics`, then carry on from `seq`.
    ResyncRequired {
        topics: Vec<String>,
        seq: i64,
    },
    Pong,
    /// A message refused; the connection stays open.
    Error {
        code: &'static str,
        detail: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
}

impl Outbound {
    pub fn frame(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn error(code: &'static str, detail: impl Into<String>, topic: Option<&str>) -> Self {
        Outbound::Error {
            code,
            detail: detail.into(),
            topic: topic.map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_read_back() {
        let id = Uuid::now_v7();
        for topic in [
            Topic::Account,
            Topic::Schedule,
            Topic::Job(id),
            Topic::Client(id),
            Topic::User(id),
        ] {
            assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
        }
        for bad in [
            "",
            "accounts",
            "job:",
            "job:42",
            "client",
            &format!("invoice:{id}"),
            &format!("job:{id}:x"),
        ] {
            assert_eq!(bad.parse::<Topic>(), Err(()), "{bad}");
        }
    }

    #[test]
    fn inbound_messages() {
        let subscribe: Inbound =
            serde_json::from_str(r#"{"type":"subscribe","topics":["schedule"],"since":4}"#)
                .unwrap();
        assert!(
            matches!(subscribe, Inbound::Subscribe { since: Some(4), ref topics } if topics == &["schedule"])
        );
        assert!(matches!(
            serde_json::from_str::<Inbound>(r#"{"type":"ping"}"#).unwrap(),
            Inbound::Ping
        ));
        for bad in [
            r#"{"type":"subscribe"}"#,
            r#"{"type":"publish","topics":[]}"#,
            r#"{"type":"subscribe","topics":["schedule"],"extra":1}"#,
            "[]",
        ] {
            assert!(serde_json::from_str::<Inbound>(bad).is_err(), "{bad}");
        }
    }
}

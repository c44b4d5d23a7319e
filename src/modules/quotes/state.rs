//! The quote state machine: which action is allowed from which status.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    Draft,
    /// Sent to the client, awaiting a response.
    Sent,
    Approved,
    Declined,
    /// The client asked for changes; edit and send again.
    ChangesRequested,
    /// A job was created from it.
    Converted,
    Archived,
    /// Past `valid_until` without an answer; edit and send again to revive it.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteAction {
    Edit,
    Send,
    Approve,
    Decline,
    RequestChanges,
    Convert,
    Archive,
}

impl QuoteStatus {
    pub const ALL: [QuoteStatus; 8] = [
        QuoteStatus::Draft,
        QuoteStatus::Sent,
        QuoteStatus::Approved,
        QuoteStatus::Declined,
        QuoteStatus::ChangesRequested,
        QuoteStatus::Converted,
        QuoteStatus::Archived,
        QuoteStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuoteStatus::Draft => "draft",
            QuoteStatus::Sent => "sent",
            QuoteStatus::Approved => "approved",
            QuoteStatus::Declined => "declined",
            QuoteStatus::ChangesRequested => "changes_requested",
            QuoteStatus::Converted => "converted",
            QuoteStatus::Archived => "archived",
            QuoteStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        QuoteStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status after `action`, or `None` when it is not allowed.
    pub fn after(self, action: QuoteAction) -> Option<QuoteStatus> {
        use QuoteAction as A;
        use QuoteStatus as S;
        match (self, action) {
            (S::Draft | S::Sent | S::ChangesRequested | S::Expired, A::Edit) => Some(self),
            (S::Draft | S::Sent | S::ChangesRequested | S::Expired, A::Send) => Some(S::Sent),
            (S::Sent | S::ChangesRequested, A::Approve) => Some(S::Approved),
            (S::Sent | S::ChangesRequested, A::Decline) => Some(S::Declined),
            (S::Sent, A::RequestChanges) => Some(S::ChangesRequested),
            (S::Approved, A::Convert) => Some(S::Converted),
            (
                S::Draft | S::Sent | S::Approved | S::Declined | S::ChangesRequested | S::Expired,
                A::Archive,
            ) => Some(S::Archived),
            _ => None,
        }
    }

    /// Every action allowed from this status (for 409 answers and the UI).
    pub fn allowed(self) -> Vec<QuoteAction> {
        use QuoteAction as A;
        [
            A::Edit,
            A::Send,
            A::Approve,
            A::Decline,
            A::RequestChanges,
            A::Convert,
            A::Archive,
        ]
        .into_iter()
        .filter(|a| self.after(*a).is_some())
        .collect()
    }
}

impl QuoteAction {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteAction::Edit => "edit",
            QuoteAction::Send => "send",
            QuoteAction::Approve => "approve",
            QuoteAction::Decline => "decline",
            QuoteAction::RequestChanges => "request_changes",
            QuoteAction::Convert => "convert",
            QuoteAction::Archive => "archive",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{QuoteAction as A, QuoteStatus as S};

    #[test]
    fn the_happy_path() {
        assert_eq!(S::Draft.after(A::Send), Some(S::Sent));
        assert_eq!(S::Sent.after(A::Approve), Some(S::Approved));
        assert_eq!(S::Approved.after(A::Convert), Some(S::Converted));
    }

    #[test]
    fn changes_requested_round_trip() {
        assert_eq!(S::Sent.after(A::RequestChanges), Some(S::ChangesRequested));
        assert_eq!(
            S::ChangesRequested.after(A::Edit),
            Some(S::ChangesRequested)
        );
        assert_eq!(S::ChangesRequested.after(A::Send), Some(S::Sent));
    }

    #[test]
    fn illegal_transitions_are_refused() {
        assert_eq!(
            S::Draft.after(A::Approve),
            None,
            "a quote the client never saw cannot be approved"
        );
        assert_eq!(
            S::Approved.after(A::Edit),
            None,
            "an approved quote is a contract"
        );
        assert_eq!(S::Declined.after(A::Approve), None);
        assert_eq!(S::Converted.after(A::Archive), None);
        assert_eq!(S::Archived.after(A::Send), None);
        assert_eq!(S::Sent.after(A::Convert), None);
        assert!(S::Converted.allowed().is_empty());
        assert!(S::Archived.allowed().is_empty());
        assert_eq!(S::Approved.allowed(), vec![A::Convert, A::Archive]);
    }

    #[test]
    fn expired_quotes_are_revived_by_sending_again() {
        assert_eq!(S::Expired.after(A::Approve), None, "the offer lapsed");
        assert_eq!(S::Expired.after(A::Send), Some(S::Sent));
        assert_eq!(S::Expired.allowed(), vec![A::Edit, A::Send, A::Archive]);
    }

    #[test]
    fn names_round_trip() {
        for status in S::ALL {
            assert_eq!(S::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}

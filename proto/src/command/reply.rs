//! What apply answers: [`Reply`] for one entry and the [`Outcome`] of a write.

use serde::{Deserialize, Serialize};

use crate::account::AccountRecord;
use crate::channel::{ChannelMessageRecord, ChannelRecord, ReactionRecord, ReadRecord};
use crate::gs2::error::ChatError;
use crate::gs2::records::{
    CategoryMasterRecord, CurrentMasterRecord, FirebaseTokenRecord, GatewayNamespaceRecord,
    MessageRecord, NamespaceRecord, RoomRecord, SubscribeRecord, UserDump,
};

/// What apply answers for one entry. Business rejections are replies, never storage errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Ok(Outcome),
    Rejected(ChatError),
    /// The replies of a [`super::LogEntry::Batch`], in order.
    Many(Vec<Reply>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Membership changes and blank entries.
    None,
    Namespace(Box<NamespaceRecord>),
    Room(RoomRecord),
    Message(MessageRecord),
    Subscribe(SubscribeRecord),
    CategoryMaster(CategoryMasterRecord),
    CurrentMaster(CurrentMasterRecord),
    Dump(UserDump),
    GatewayNamespace(Box<GatewayNamespaceRecord>),
    FirebaseToken(FirebaseTokenRecord),
    Done,
    /// A bounded sweep ran; `more`: it stopped at its limit, and rows are left to sweep.
    Swept {
        more: bool,
    },
    Accounts(Vec<AccountRecord>),
    Channel {
        channel: Box<ChannelRecord>,
        created: bool,
    },
    ChannelMessage(Box<ChannelMessageRecord>),
    Reaction(Box<ReactionRecord>),
    Read(ReadRecord),
}

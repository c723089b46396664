//! The stable name of each command, for metrics and logs.

use super::Command;

impl Command {
    /// A short stable name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::CreateNamespace { .. } => "createNamespace",
            Command::UpdateNamespace { .. } => "updateNamespace",
            Command::DeleteNamespace { .. } => "deleteNamespace",
            Command::CreateRoom { .. } => "createRoom",
            Command::UpdateRoom { .. } => "updateRoom",
            Command::DeleteRoom { .. } => "deleteRoom",
            Command::Post { .. } => "post",
            Command::DeleteMessage { .. } => "deleteMessage",
            Command::Subscribe { .. } => "subscribe",
            Command::UpdateNotificationType { .. } => "updateNotificationType",
            Command::Unsubscribe { .. } => "unsubscribe",
            Command::CreateCategoryMaster { .. } => "createCategoryModelMaster",
            Command::UpdateCategoryMaster { .. } => "updateCategoryModelMaster",
            Command::DeleteCategoryMaster { .. } => "deleteCategoryModelMaster",
            Command::UpdateCurrentMaster { .. } => "updateCurrentModelMaster",
            Command::StoreUpload { .. } => "storeUpload",
            Command::DumpUser { .. } => "dumpUser",
            Command::CleanUser { .. } => "cleanUser",
            Command::ImportUser { .. } => "importUser",
            Command::Sweep { .. } => "sweep",
            Command::TrimOutbox { .. } => "trimOutbox",
            Command::CreateGatewayNamespace { .. } => "createGatewayNamespace",
            Command::UpdateGatewayNamespace { .. } => "updateGatewayNamespace",
            Command::DeleteGatewayNamespace { .. } => "deleteGatewayNamespace",
            Command::SetFirebaseToken { .. } => "setFirebaseToken",
            Command::DeleteFirebaseToken { .. } => "deleteFirebaseToken",
            Command::UpsertAccounts { .. } => "upsertAccounts",
            Command::PatchAccounts { .. } => "patchAccounts",
            Command::ChangeAccounts { .. } => "changeAccounts",
            Command::CreateAccount { .. } => "createAccount",
            Command::GetOrCreateChannel { .. } => "getOrCreateChannel",
            Command::SendChannelMessage { .. } => "sendChannelMessage",
            Command::SendReaction { .. } => "sendReaction",
            Command::DeleteReaction { .. } => "deleteReaction",
            Command::MarkRead { .. } => "markRead",
            Command::SendChannelEvent { .. } => "sendChannelEvent",
            Command::UpdateChannel { .. } => "updateChannel",
            Command::DeleteChannel { .. } => "deleteChannel",
            Command::SetPresence { .. } => "setPresence",
            Command::TruncateChannel { .. } => "truncateChannel",
            Command::SetChannelHidden { .. } => "setChannelHidden",
            Command::UpdateChannelMessage { .. } => "updateChannelMessage",
            Command::DeleteChannelMessage { .. } => "deleteChannelMessage",
            Command::UndeleteChannelMessage { .. } => "undeleteChannelMessage",
        }
    }
}

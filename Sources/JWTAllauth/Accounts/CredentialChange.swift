/// A password change and what it revokes (SPEC "The whitelist"; reference §3.9): with
/// `accounts.logout_on_password_change`, every session and every outstanding one-time token of the
/// account (reset links, capabilities, confirmation and invitation keys). Used by password change,
/// reset `set-new/` and invitation `set-password/`, which then open the caller's new session.
struct CredentialChange {
    let db: any SQLConnection
    let config: Config

    /// Stores `passwordHash` and revokes. Runs in the caller's write transaction, so the change and
    /// the revocation land together.
    func apply(to user: UserRecord, passwordHash: String) throws {
        try UserStore(db).setPasswordHash(userID: user.id, passwordHash)
        let tokens = OneTimeTokens(db)
        if config.accounts.logoutOnPasswordChange {
            try Whitelist(db).revoke(userID: user.id)
            try tokens.revokeAll(userID: user.id)
        } else {
            // Whatever the setting, a reset link must not outlive the password it was sent to replace.
            try tokens.revoke(.passwordReset, userID: user.id)
            try tokens.revoke(.passwordResetAccess, userID: user.id)
        }
    }
}

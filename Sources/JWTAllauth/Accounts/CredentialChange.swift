/// A password change and what it revokes (SPEC "The whitelist"; reference §3.9): with
/// `accounts.logout_on_password_change`, every session and every outstanding one-time token of the
/// account (reset links, capabilities, confirmation and invitation keys) goes, and the caller
/// gets one new session. Used by password change, reset `set-new/` and invitation `set-password/`.
struct CredentialChange {
    let db: Database
    let config: Config
    let issuer: SessionIssuer

    /// Stores `passwordHash` and revokes; answers the replacement session when one is due
    /// (`alwaysOpenSession`: reset and set-password hand one over even without revocation).
    /// Runs in the caller's write transaction, so the change and the revocation land together.
    func apply(to user: UserRecord, passwordHash: String, alwaysOpenSession: Bool, device: DeviceInfo, now: Int64) throws -> IssuedSession? {
        try UserStore(db).setPasswordHash(userID: user.id, passwordHash)
        let tokens = OneTimeTokens(db)
        let revoking = config.accounts.logoutOnPasswordChange
        if revoking {
            try Whitelist(db).revoke(userID: user.id)
            try tokens.revokeAll(userID: user.id)
        } else {
            // Whatever the setting, a reset link must not outlive the password it was sent to replace.
            try tokens.revoke(.passwordReset, userID: user.id)
            try tokens.revoke(.passwordResetAccess, userID: user.id)
        }
        guard revoking || alwaysOpenSession else { return nil }
        var changed = user
        changed.password = passwordHash
        return try issuer.open(for: changed, device: device, now: now, whitelist: Whitelist(db))
    }
}

import AllauthStore

/// A password change and what it revokes (as django-jwt-allauth revokes): with
/// `accounts.logout_on_password_change`, every session and every outstanding one-time token of the
/// account (reset links, capabilities, confirmation and invitation keys). Used by password change,
/// reset `set-new/` and invitation `set-password/`, which then open the caller's new session.
package struct CredentialChange {
    let db: any SQLConnection
    let accounts: AccountSettings

    /// Stores `passwordHash` and revokes. Runs in the caller's write transaction, so the change and
    /// the revocation land together; durably (`.full`), since the old password stops working.
    /// Answers the number of refresh tokens revoked.
    @discardableResult
    func apply(to user: UserRecord, passwordHash: String) throws -> Int {
        try db.transaction(.accessChange) { () throws -> Int in
            try UserStore(db).setPasswordHash(userID: user.id, passwordHash)
            let tokens = OneTimeTokens(db)
            guard accounts.logoutOnPasswordChange else {
                // Whatever the setting, a reset link must not outlive the password it was sent to replace.
                try tokens.revoke(.passwordReset, userID: user.id)
                try tokens.revoke(.passwordResetAccess, userID: user.id)
                return 0
            }
            let revoked = try Whitelist(db).revoke(userID: user.id)
            try tokens.revokeAll(userID: user.id)
            return revoked
        }
    }

    /// The signed-in user's own change (`password/change/`), with the caller's replacement session
    /// when the change revoked every session. One durable write transaction; the account is re-read
    /// under the write lock, so a deactivation that landed meanwhile wins.
    package func change(userID: Int64, passwordHash: String, issuer: SessionIssuer, device: DeviceInfo, now: Int64) throws -> PasswordChangeOutcome {
        try db.transaction(.accessChange) { () throws -> PasswordChangeOutcome in
            guard let current = try UserStore(db).findLocked(id: userID), current.isActive else { return .inactive }
            try apply(to: current, passwordHash: passwordHash)
            guard accounts.logoutOnPasswordChange else { return .changed(replacement: nil) }
            return .changed(replacement: try issuer.open(for: current, device: device, now: now, whitelist: Whitelist(db)))
        }
    }
}

/// What `password/change/` did.
package enum PasswordChangeOutcome {
    /// Changed; `replacement` is the caller's new session when every session was revoked.
    case changed(replacement: IssuedSession?)
    /// The account is gone or inactive: nothing changed.
    case inactive
}

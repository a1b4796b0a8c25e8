import AllauthStore

/// The id_tokens already accepted (`social_id_tokens`), so that each is accepted once, on every
/// worker and host, until it expires (then its `exp` refuses it anyway, and the purge may drop the
/// row). All of its SQL is here; methods run in the caller's transaction.
struct SpentIDTokens {
    let db: any SQLConnection

    init(_ db: any SQLConnection) { self.db = db }

    /// Records the token as used; false when it was already (a replay). Two workers presenting the
    /// same token at once: the key's uniqueness lets one insert, the other finds it there (on
    /// PostgreSQL it waits for the first to commit or roll back).
    func spend(_ token: IDTokenUse) throws -> Bool {
        try db.run("INSERT INTO social_id_tokens (digest, expires) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                   [.text(token.digest), .integer(token.expires)]) == 1
    }
}

/// What the store remembers of an accepted id_token so that it is accepted once: a SHA-256 of the
/// provider, issuer and `jti`, or without a `jti` of the token's signed part (header and claims as
/// sent: the signature itself is not unique, since an ECDSA signature can be rewritten into
/// another valid one without the key), kept until the token expires (`OpenIDClient.verify`).
struct IDTokenUse: Sendable, Equatable {
    var digest: String
    var expires: Int64
}

/// The claims of an access or refresh token, in the reference's order:
/// token_type, exp, iat, jti, user_id, session, session_iat, role, email_verified, custom…
public struct TokenClaims: Sendable, Equatable {
    public enum TokenType: String, Sendable { case access, refresh }

    public var tokenType: TokenType
    public var exp: Int64
    public var iat: Int64
    public var jti: String
    /// The user's id as a string, as current reference versions write it.
    public var userID: String
    public var session: String
    public var sessionIat: Int64
    public var role: Int
    public var emailVerified: Bool
    public var custom: [(String, JSON)]

    /// Names a custom attribute may not take.
    public static let reservedNames: Set<String> = [
        "token_type", "exp", "iat", "nbf", "jti", "user_id", "session", "session_iat", "role", "email_verified",
        "iss", "aud", "sub", "for_user", "one_time_permission",
    ]

    public static func == (lhs: TokenClaims, rhs: TokenClaims) -> Bool {
        lhs.json == rhs.json
    }

    var json: JSON {
        .object([
            ("token_type", .string(tokenType.rawValue)),
            ("exp", .number(Double(exp))),
            ("iat", .number(Double(iat))),
            ("jti", .string(jti)),
            ("user_id", .string(userID)),
            ("session", .string(session)),
            ("session_iat", .number(Double(sessionIat))),
            ("role", .number(Double(role))),
            ("email_verified", .bool(emailVerified)),
        ] + custom)
    }

    /// Reads claims from a verified payload. `user_id` may be a string or (older writers) an integer.
    init?(json: JSON) {
        guard case .object(let members) = json,
              let type = json["token_type"]?.stringValue.flatMap(TokenType.init(rawValue:)),
              let exp = json["exp"]?.int64Value,
              let jti = json["jti"]?.stringValue
        else { return nil }
        let userID: String
        switch json["user_id"] {
        case .string(let text)?: userID = text
        case .number?: userID = json["user_id"]!.int64Value.map(String.init) ?? ""
        default: return nil
        }
        guard let session = json["session"]?.stringValue, !userID.isEmpty else { return nil }
        self.tokenType = type
        self.exp = exp
        self.iat = json["iat"]?.int64Value ?? 0
        self.jti = jti
        self.userID = userID
        self.session = session
        // Legacy tokens without session_iat are stamped at their first rotation (reference §3.4).
        self.sessionIat = json["session_iat"]?.int64Value ?? -1
        self.role = json["role"]?.int64Value.map(Int.init) ?? 0
        self.emailVerified = json["email_verified"]?.boolValue ?? false
        self.custom = members.filter { !TokenClaims.reservedNames.contains($0.0) }
    }

    init(tokenType: TokenType, exp: Int64, iat: Int64, jti: String, userID: String, session: String,
         sessionIat: Int64, role: Int, emailVerified: Bool, custom: [(String, JSON)]) {
        self.tokenType = tokenType
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.userID = userID
        self.session = session
        self.sessionIat = sessionIat
        self.role = role
        self.emailVerified = emailVerified
        self.custom = custom
    }
}

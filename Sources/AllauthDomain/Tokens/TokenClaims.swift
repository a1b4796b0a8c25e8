import AllauthCore

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
    /// One pass over the members (the parser has kept one of each key): a lookup per claim and a
    /// set lookup per member were 1.5% of a rotation (bench/callgrind.sh).
    init?(json: JSON) {
        guard case .object(let members) = json else { return nil }
        var type: TokenType?, exp: Int64?, iat: Int64?, jti: String?, userID: String?, session: String?
        var sessionIat: Int64?, role: Int64?, emailVerified: Bool?
        var custom: [(String, JSON)] = []
        for (key, value) in members {
            switch key {
            case "token_type": type = value.stringValue.flatMap(TokenType.init(rawValue:))
            case "exp": exp = value.int64Value
            case "iat": iat = value.int64Value
            case "jti": jti = value.stringValue
            case "user_id":
                switch value {
                case .string(let text): userID = text
                case .number: userID = value.int64Value.map(String.init) ?? ""
                default: return nil
                }
            case "session": session = value.stringValue
            case "session_iat": sessionIat = value.int64Value
            case "role": role = value.int64Value
            case "email_verified": emailVerified = value.boolValue
            default: if !TokenClaims.reservedNames.contains(key) { custom.append((key, value)) }
            }
        }
        guard let type, let exp, let jti, let userID, let session, !userID.isEmpty else { return nil }
        self.tokenType = type
        self.exp = exp
        self.iat = iat ?? 0
        self.jti = jti
        self.userID = userID
        self.session = session
        // Legacy tokens without session_iat are stamped at their first rotation (as in django-jwt-allauth).
        self.sessionIat = sessionIat ?? -1
        self.role = role.map(Int.init) ?? 0
        self.emailVerified = emailVerified ?? false
        self.custom = custom
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

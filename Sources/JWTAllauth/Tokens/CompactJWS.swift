/// A JWS in compact serialisation (`header.payload.signature`), split and decoded but not yet
/// trusted: our own tokens and the id_tokens of OpenID providers go through this one parser, and
/// each verifier then checks the signature with the key *it* chose for the header's `kid`.
struct CompactJWS {
    let header: JSON
    let signature: [UInt8]
    /// `header.payload` as sent: the bytes the signature covers.
    let signingInput: [UInt8]
    private let payloadSegment: Substring

    /// nil for anything that is not three strict base64url segments with a JSON object header.
    init?(_ token: String, maxLength: Int) {
        guard token.utf8.count <= maxLength else { return nil }
        // Split on bytes: splitting the String walks Characters, which was a quarter of a
        // rotation's instructions (bench/callgrind.sh). A dot is ASCII, so the parts stay valid UTF-8.
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map { Substring($0) }
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]),
              let header = try? JSON.parse(headerBytes, maxDepth: 4),
              case .object = header,
              let signature = Base64URL.decode(parts[2])
        else { return nil }
        self.header = header
        self.signature = signature
        self.signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        self.payloadSegment = parts[1]
    }

    var algorithm: String? { header["alg"]?.stringValue }
    var kid: String? { header["kid"]?.stringValue }

    /// The claims, once the signature has been checked: a JSON object or nil.
    func payload() -> JSON? {
        guard let bytes = Base64URL.decode(payloadSegment), let payload = try? JSON.parse(bytes, maxDepth: 8),
              case .object = payload
        else { return nil }
        return payload
    }
}

import AllauthDomain
import AllauthRuntime
import FastCGI

/// The use cases (`Flows`), wired to this request's connection and the service's configuration.
extension HandlerContext {
    /// The use cases wired to this request's connection, the configuration and the worker's keys.
    var flows: Flows {
        Flows(db: db, config: config, tokens: service.tokens, issuer: service.issuer, hashing: service.hashing,
              templates: service.templates, mfaKey: service.mfaKey, language: language)
    }
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }

    /// A configured redirect target, or the built-in page below the mount.
    func redirectTarget(_ configured: String?, builtIn path: String) -> String {
        configured ?? config.server.mount + "/" + path
    }
}

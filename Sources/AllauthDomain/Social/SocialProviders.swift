/// The configured providers' OpenID clients, one per provider for the life of a worker (so their
/// discovery and key caches are shared by its threads).
public final class SocialProviders: Sendable {
    private let clients: [String: OpenIDClient]

    public init(_ settings: SocialSettings, fetcher: any HTTPFetcher) {
        clients = Dictionary(uniqueKeysWithValues: settings.providers.map { ($0.id, OpenIDClient(provider: $0, fetcher: fetcher)) })
    }

    package func client(_ id: String) -> OpenIDClient? { clients[id] }
}

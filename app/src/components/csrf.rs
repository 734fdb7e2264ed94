//! The CSRF token on the browser's side: the server writes the session's token into the page
//! (`<meta name="csrf-token">`), and every server function call sends it back in the
//! `X-CSRF-Token` header. A page of another site can neither read the meta tag nor set the
//! header, so it cannot make a signed-in browser change anything.

use std::future::Future;

use futures_util::{Sink, Stream};
use server_fn::Bytes;
use server_fn::client::Client;
use server_fn::client::browser::BrowserClient;
use server_fn::error::FromServerFnError;
use server_fn::request::browser::BrowserRequest;
use server_fn::response::browser::BrowserResponse;

/// The session's CSRF token as the page carries it.
pub fn page_token() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::document()
            .query_selector("meta[name=\"csrf-token\"]")
            .ok()
            .flatten()
            .and_then(|meta| meta.get_attribute("content"))
            .filter(|token| !token.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The token for what the page itself renders (the `<meta>` tag, the logout form): the server
/// knows it from the session, the browser reads back what the server wrote, so both render the
/// same markup.
pub fn form_token() -> String {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<crate::people::CsrfToken>().map(|t| t.0).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        page_token().unwrap_or_default()
    }
}

/// The browser's `fetch` client, plus the CSRF header.
pub struct CsrfClient;

impl<E, I, O> Client<E, I, O> for CsrfClient
where
    E: FromServerFnError,
    I: FromServerFnError,
    O: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(request: BrowserRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        if let Some(token) = page_token() {
            request.headers().set(crate::people::CSRF_HEADER, &token);
        }
        <BrowserClient as Client<E, I, O>>::send(request)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, I, O>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, I, O>>::spawn(future)
    }
}

import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ShlinkApiClient } from "@shlinkio/shlink-js-sdk";
import { FetchHttpClient } from "@shlinkio/shlink-js-sdk/fetch";
import { ShlinkWebComponent } from "@shlinkio/shlink-web-component";

const params = new URLSearchParams(window.location.search);
const apiClient = new ShlinkApiClient(new FetchHttpClient(), {
  baseUrl: params.get("server"),
  apiKey: params.get("key"),
});
createRoot(document.getElementById("root")).render(
  <BrowserRouter>
    <ShlinkWebComponent serverVersion="5.0.0" apiClient={apiClient} />
  </BrowserRouter>,
);

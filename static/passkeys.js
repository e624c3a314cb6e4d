// Passkeys (WebAuthn): Quorum's own script, loaded only by the pages that offer them.
//
// A form <form data-passkey="create|get" data-passkey-challenge="/…/challenge"> asks the
// server for a challenge (JSON, with the form's CSRF token), lets the browser ask the
// person for their passkey, puts the browser's answer (JSON) in the form's hidden
// `credential` field (or the one data-passkey-field names) and submits the form. What goes wrong is said in the form's
// [data-passkey-message] element. Without this script the form still submits, and the
// server says that a passkey needs JavaScript.
"use strict";

(() => {
  const fromBase64url = (text) =>
    Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

  const toBase64url = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) {
      binary += String.fromCharCode(byte);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const withBinaryIds = (credentials) =>
    (credentials || []).map((credential) => ({ ...credential, id: fromBase64url(credential.id) }));

  // The server's options (base64url text) become the browser's (bytes), and the browser's
  // answer becomes the JSON the server reads.
  async function createPasskey(options) {
    const publicKey = options.publicKey;
    publicKey.challenge = fromBase64url(publicKey.challenge);
    publicKey.user.id = fromBase64url(publicKey.user.id);
    publicKey.excludeCredentials = withBinaryIds(publicKey.excludeCredentials);
    const credential = await navigator.credentials.create({ publicKey });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toBase64url(response.attestationObject),
        clientDataJSON: toBase64url(response.clientDataJSON),
        transports: typeof response.getTransports === "function" ? response.getTransports() : [],
      },
      extensions: {},
    };
  }

  async function usePasskey(options) {
    const publicKey = options.publicKey;
    publicKey.challenge = fromBase64url(publicKey.challenge);
    publicKey.allowCredentials = withBinaryIds(publicKey.allowCredentials);
    const credential = await navigator.credentials.get({ publicKey });
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64url(response.authenticatorData),
        clientDataJSON: toBase64url(response.clientDataJSON),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
      },
      extensions: {},
    };
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
        return "No passkey was used: the request was cancelled or timed out. Try again when you are ready.";
      case "InvalidStateError":
        return "This device or security key is registered already.";
      case "SecurityError":
        return "Passkeys do not work at this address. Open Quorum at its usual address and try again.";
      default:
        return "The passkey could not be used. Try again, or use another way.";
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.passkey || event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    const message = form.querySelector("[data-passkey-message]");
    const say = (text) => {
      message.textContent = text;
      message.hidden = false;
      // quorum.js counts the form as submitted: let the person try again.
      delete form.dataset.submitting;
    };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say("This browser cannot use passkeys. Use another way to sign in, or another browser.");
      return;
    }
    // A name is asked for before the device is: the server would refuse an empty one.
    const name = form.elements.namedItem("name");
    if (name instanceof HTMLInputElement && name.value.trim() === "") {
      say("Give the passkey a name first, such as “Work laptop”.");
      name.focus();
      return;
    }
    message.hidden = true;
    try {
      const answer = await fetch(form.dataset.passkeyChallenge, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          accept: "application/json",
          "x-csrf-token": form.elements.namedItem("csrf_token").value,
        },
      });
      const options = await answer.json().catch(() => ({}));
      if (!answer.ok) {
        say(options.error || "Quorum could not start the passkey request. Reload the page and try again.");
        return;
      }
      const credential =
        form.dataset.passkey === "create" ? await createPasskey(options) : await usePasskey(options);
      form.elements.namedItem(form.dataset.passkeyField || "credential").value = JSON.stringify(credential);
      form.submit();
    } catch (error) {
      say(explain(error));
    }
  });
})();

"""Embeds texts through `mtst serve` with a real client package, in its own process (the
reference tests run with HF_HUB_OFFLINE=1, which huggingface_hub applies to any URL).

  serve_client.py openai|huggingface_hub URL KEY TEXTS.json OUT.npy [CA_CERT]

Writes the embeddings to OUT.npy and exits 0, or prints the HTTP status of the refusal and
exits 3. KEY "-" means no key. CA_CERT: the certificate an HTTPS server is trusted by."""
import json
import os
import sys

import numpy as np


def with_openai(url, key, texts, ca_cert):
    import openai
    client = openai.OpenAI(base_url=url + "/v1", api_key=key or "no-key", max_retries=0,
                           http_client=openai.DefaultHttpxClient(verify=ca_cert or True))
    try:
        rows = []
        for start in range(0, len(texts), 32):  # the server's --max-client-batch-size
            answer = client.embeddings.create(model="all-MiniLM-L6-v2",
                                              input=texts[start:start + 32])
            rows += [d.embedding for d in answer.data]
        return np.array(rows, dtype=np.float32)
    except openai.APIStatusError as e:
        return e.status_code


def with_huggingface_hub(url, key, texts, ca_cert):
    if ca_cert:
        os.environ["SSL_CERT_FILE"] = ca_cert
    from huggingface_hub import InferenceClient
    from huggingface_hub.errors import HfHubHTTPError
    client = InferenceClient(base_url=url, token=key)
    try:
        return np.concatenate([client.feature_extraction(texts[start:start + 32])
                               for start in range(0, len(texts), 32)])
    except HfHubHTTPError as e:
        return e.response.status_code


def main():
    kind, url, key, texts_path, out = sys.argv[1:6]
    ca_cert = sys.argv[6] if len(sys.argv) > 6 else None
    texts = json.loads(open(texts_path, encoding="utf-8").read())
    run = with_openai if kind == "openai" else with_huggingface_hub
    result = run(url, None if key == "-" else key, texts, ca_cert)
    if isinstance(result, int):
        print(result)
        sys.exit(3)
    np.save(out, result)


if __name__ == "__main__":
    main()

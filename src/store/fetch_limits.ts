/**
 * The default bounds of a model's download, apart so `--help` can show
 * them without loading the store's code.
 */

/** How long fetching a model may take at most, by default (`--model-timeout`). */
export const MODEL_TIMEOUT_SECONDS = 300;
/** How many bytes a model's files may hold together at most, by default (`--model-max-bytes`): 2 GiB. */
export const MODEL_MAX_BYTES = 2 ** 31;

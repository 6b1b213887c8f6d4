// How long a page waits before reconnecting to the queue server: exponential backoff
// with full jitter, the one rule every Walkin client follows (the Python clients'
// copy is queue_server/client.py's Backoff; tests/queue_server/web/test_backoff.py
// holds the two to the same sequence).
//
// Attempt n (from 0) waits a uniformly random time in [0, min(max, min * 2^n)): the
// ceiling doubles after each failure, and the randomness spreads a hall of boards or a
// waiting room of phones that lost the server at the same moment.
//
//   const backoff = WalkinBackoff.create(250, 10000);  // milliseconds
//   setTimeout(reconnect, backoff.nextDelay());
//   backoff.reset();                                   // once connected again
"use strict";

window.WalkinBackoff = {
  create(minimumMs, maximumMs, draw = Math.random) {
    if (!(minimumMs > 0 && minimumMs <= maximumMs)) {
      throw new RangeError(`backoff needs 0 < minimum <= maximum, not ${minimumMs}, ${maximumMs}`);
    }
    let ceiling = minimumMs;
    return {
      get ceiling() { return ceiling; },
      nextDelay() {
        const delay = draw() * ceiling;
        ceiling = Math.min(maximumMs, ceiling * 2);
        return delay;
      },
      reset() { ceiling = minimumMs; },
    };
  },
};

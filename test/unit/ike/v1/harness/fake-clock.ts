/** The IKEv1 tests run on the same fake clock as the IKEv2 tests. */
export { FakeClock } from '../../v2/harness/fake-clock.js';

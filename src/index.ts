// Public library API of fstack-kni.
export { version } from './version.js';

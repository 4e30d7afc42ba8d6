// The demo's background job, registered by `npm start` and played by `npm run demo:job`: it may call the demo API
// on behalf of users who allowed background access (an offline login). Its secret is made fresh at each start.

export const DEMO_JOB_CLIENT_ID = 'demo-report'
/** alice's subject at the demo identity provider (src/demo/provider-pages.ts) */
export const DEMO_JOB_SUBJECT = 'alice'

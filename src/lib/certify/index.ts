/** The certification suite: certify(def) → CertReport, and the report's text form. */
export { certify, CertifyInputError, DEFAULT_BUDGETS, DEFAULT_CONFIGURABLE_CLASS, type CertifyOptions } from './runner';
export { formatReport, CHECK_IDS, type CertReport, type CheckResult, type CheckId, type Finding, type IoRef, type Budgets } from './report';
export { CHECKS } from './checks/index';

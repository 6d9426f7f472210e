/** Kept for existing imports: the polling helpers live in ./wait-for. */
export { pollUntil } from './wait-for';

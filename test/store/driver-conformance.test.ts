import { describe } from 'node:test';
import { testDrivers } from '../support/database.js';
import { runDriverSuite } from '../support/driver-suite.js';

for (const driver of testDrivers()) describe(`the storage driver contract (${driver.name})`, { skip: driver.skip }, () => runDriverSuite(() => driver.open()));

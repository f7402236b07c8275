// The core scenarios in Chromium through the same driver layer, when `ENGINES`
// names it (the Chromium suites cover them by default).
import {describeCoreScenarios} from './core-scenarios.js';

describeCoreScenarios('chromium');
